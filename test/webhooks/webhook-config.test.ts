// The webhook settings are read once with the rest of the configuration: safe defaults (https
// only, no internal address allowed, 24 h of retries), and bad values refused at start-up.

import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('webhook configuration', () => {
  it('defaults to https only, no allowed internal addresses and a 24 h retry window', () => {
    expect(loadConfig({}).webhooks).toEqual({
      secretKey: undefined,
      allowHttp: false,
      allowedAddresses: [],
      connectTimeoutMs: 5_000,
      responseTimeoutMs: 10_000,
      retryBaseMs: 10_000,
      retryMaxMs: 3_600_000,
      retryWindowSeconds: 86_400,
      secretOverlapSeconds: 86_400,
    });
  });

  it('reads a 32-byte base64 key and the allowed addresses', () => {
    const key = Buffer.alloc(32, 9);
    const config = loadConfig({ TENANTRY_WEBHOOK_SECRET_KEY: key.toString('base64'), TENANTRY_WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1, 10.0.0.0/8,::1' }).webhooks;
    expect(config.secretKey).toEqual(key);
    expect(config.allowedAddresses).toEqual(['127.0.0.1', '10.0.0.0/8', '::1']);
  });

  it.each([
    ['TENANTRY_WEBHOOK_SECRET_KEY', Buffer.alloc(16).toString('base64')],
    ['TENANTRY_WEBHOOK_SECRET_KEY', 'not base64 at all!'],
    ['TENANTRY_WEBHOOK_ALLOWED_ADDRESSES', 'localhost'],
    ['TENANTRY_WEBHOOK_ALLOWED_ADDRESSES', '10.0.0.0/33'],
    ['TENANTRY_WEBHOOK_ALLOW_HTTP', 'maybe'],
    ['TENANTRY_WEBHOOK_RETRY_WINDOW_SECONDS', '0'],
    ['TENANTRY_WEBHOOK_RETRY_MAX_MS', '5'],
  ])('refuses %s=%s', (key, value) => {
    expect(() => loadConfig({ [key]: value })).toThrow(ConfigError);
  });

  it('refuses a maximum wait shorter than the first', () => {
    expect(() => loadConfig({ TENANTRY_WEBHOOK_RETRY_BASE_MS: '5000', TENANTRY_WEBHOOK_RETRY_MAX_MS: '1000' })).toThrow(/must not be shorter/);
  });
});
