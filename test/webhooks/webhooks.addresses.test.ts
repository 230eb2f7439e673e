// The server calls only addresses outside its network. At save time the URL must be https (http
// only where configured) and its host must resolve to public addresses; at send time the
// address is checked again on the socket, so a name that resolves to loopback by then (DNS
// changed after saving) is refused. Timeouts bound a receiver that accepts and never answers.

import { createServer, type Server } from 'node:net';
import type { LookupFunction } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { checkEndpointUrl } from '../../src/webhooks/endpoint-address.js';
import { WebhookSender } from '../../src/webhooks/webhook-sender.js';
import { signUp } from '../support/fixtures.js';
import type { TestApp } from '../support/test-app.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { call, eventually, startWebhookApp } from './support/webhook-app.js';

const PUBLIC = '93.184.215.14';
const production = loadConfig({}).webhooks;
const publicResolver = async () => [PUBLIC];

/** A resolver that answers `address` for every name: DNS as an attacker who owns the zone sets it. */
function resolvesTo(address: string): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options.all) callback(null, [{ address, family: 4 }]);
    else callback(null, address, 4);
  }) as LookupFunction;
}

let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver?.close();
});

describe('checking an endpoint URL when it is saved', () => {
  it.each([
    ['http, where https is required', `http://${PUBLIC}/hook`, /must be an https URL/],
    ['loopback', 'https://127.0.0.1/hook', /internal address/],
    ['loopback by name', 'https://localhost/hook', /internal address/],
    ['IPv6 loopback', 'https://[::1]/hook', /internal address/],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/hook', /internal address/],
    ['a private network', 'https://10.1.2.3/hook', /internal address/],
    ['CGNAT', 'https://100.64.0.1/hook', /internal address/],
    ['link-local (cloud metadata)', 'https://169.254.169.254/latest/meta-data', /internal address/],
    ['credentials in the URL', `https://user:pw@${PUBLIC}/hook`, /credentials/],
    ['a fragment', `https://${PUBLIC}/hook#x`, /fragment/],
    ['no URL at all', 'not a url', /not an absolute URL/],
    ['a host that does not resolve', 'https://no-such-host.invalid/hook', /does not resolve/],
  ])('refuses %s', async (_what, url, reason) => {
    await expect(checkEndpointUrl(url, production, 'body.url')).rejects.toMatchObject({ code: 'webhook-url-refused', detail: expect.stringMatching(reason), extra: { field: 'body.url' } });
  });

  it('accepts a public https address, and a name whose every address is public', async () => {
    expect(await checkEndpointUrl(`https://${PUBLIC}/hook`, production, 'body.url')).toBe(`https://${PUBLIC}/hook`);
    expect(await checkEndpointUrl('https://hooks.example.com/a', production, 'body.url', publicResolver)).toBe('https://hooks.example.com/a');
    await expect(checkEndpointUrl('https://hooks.example.com/a', production, 'body.url', async () => [PUBLIC, '10.0.0.1'])).rejects.toMatchObject({
      code: 'webhook-url-refused',
    });
  });

  it('lets through only the addresses configured as allowed, and http only when configured', async () => {
    const local = loadConfig({ TENANTRY_WEBHOOK_ALLOW_HTTP: 'true', TENANTRY_WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1' }).webhooks;
    expect(await checkEndpointUrl('http://127.0.0.1:8080/hook', local, 'body.url')).toBe('http://127.0.0.1:8080/hook');
    await expect(checkEndpointUrl('http://127.0.0.2:8080/hook', local, 'body.url')).rejects.toMatchObject({ code: 'webhook-url-refused' });
    await expect(checkEndpointUrl('ftp://127.0.0.1/hook', local, 'body.url')).rejects.toMatchObject({ code: 'webhook-url-refused' });
    // Production configuration allows neither.
    expect(production.allowHttp).toBe(false);
    expect(production.allowedAddresses).toEqual([]);
  });
});

describe('checking the address again when a delivery connects', () => {
  const timeouts = { connectTimeoutMs: 2_000, responseTimeoutMs: 2_000 };
  const request = (url: string) => ({ url, headers: {}, body: '{}' });

  it('refuses a name that resolves to 127.0.0.1 at send time, and the receiver hears nothing', async () => {
    const sender = new WebhookSender({ ...timeouts, allowedAddresses: [], lookup: resolvesTo('127.0.0.1') });
    const result = await sender.send(request(`http://rebound.example.com:${receiver.port}/hook`));
    expect(result).toMatchObject({ ok: false, statusCode: undefined });
    expect(result.error).toMatch(/127\.0\.0\.1.*not allowed/);
    expect(receiver.received).toEqual([]);
  });

  it.each(['169.254.169.254', '10.0.0.1', '100.64.0.1', '0.0.0.0'])('refuses a name that resolves to %s at send time', async (address) => {
    const sender = new WebhookSender({ ...timeouts, allowedAddresses: [], lookup: resolvesTo(address) });
    const result = await sender.send(request('http://rebound.example.com/hook'));
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/not allowed/);
  });

  it('refuses localhost and a loopback literal, and connects where the address is explicitly allowed (the control)', async () => {
    const strict = new WebhookSender({ ...timeouts, allowedAddresses: [] });
    expect((await strict.send(request(`http://localhost:${receiver.port}/hook`))).error).toMatch(/not allowed/);
    expect((await strict.send(request(`http://127.0.0.1:${receiver.port}/hook`))).error).toMatch(/not allowed/);
    expect(receiver.received).toEqual([]);
    const allowing = new WebhookSender({ ...timeouts, allowedAddresses: ['127.0.0.1'], lookup: resolvesTo('127.0.0.1') });
    expect(await allowing.send(request(`http://rebound.example.com:${receiver.port}/hook`))).toMatchObject({ ok: true, statusCode: 200 });
    expect(receiver.received).toHaveLength(1);
    receiver.received.length = 0;
  });

  it('gives up on a receiver that accepts the connection and never answers, within the response timeout', async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      const sender = new WebhookSender({ connectTimeoutMs: 2_000, responseTimeoutMs: 300, allowedAddresses: ['127.0.0.1'] });
      const result = await sender.send(request(`http://127.0.0.1:${port}/hook`));
      expect(result).toMatchObject({ ok: false, statusCode: undefined });
      expect(result.error).toMatch(/no complete answer within 300 ms/);
      expect(result.durationMs).toBeLessThan(2_000);
    } finally {
      silent.close();
    }
  });
});

describe('a saved endpoint whose host resolves to loopback when the delivery runs', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    // http allowed (the receiver is local) but no address allowed: production's filtering.
    testApp = await startWebhookApp({ TENANTRY_WEBHOOK_ALLOW_HTTP: 'true', TENANTRY_WEBHOOK_RETRY_BASE_MS: '60000' });
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('is refused on the socket: the attempt is logged as refused and the receiver hears nothing', async () => {
    const owner = await signUp(testApp.app);
    const created = await call(testApp, owner.accessToken, 'POST', '/v1/webhooks/endpoints', { url: `http://${PUBLIC}:${receiver.port}/hook` });
    expect(created.statusCode, created.body).toBe(201);
    const endpointId = created.json().endpoint.id;
    // What DNS can do after the check: the saved name now leads to this machine.
    await testApp.database.admin.query(`UPDATE webhook_endpoints SET url = $1 WHERE id = $2`, [`http://localhost:${receiver.port}/hook`, endpointId]);
    const { deliveryIds } = (await call(testApp, owner.accessToken, 'POST', '/v1/webhooks/test', { endpointId })).json();
    let attempts: Array<{ outcome: string; statusCode: number | null; error: string }> = [];
    await eventually(async () => {
      attempts = (await call(testApp, owner.accessToken, 'GET', `/v1/webhooks/deliveries/${deliveryIds[0]}`)).json().attempts;
      return attempts.length > 0;
    });
    expect(attempts[0]).toMatchObject({ outcome: 'failed', statusCode: null });
    expect(attempts[0]!.error).toMatch(/not allowed/);
    expect(receiver.received).toEqual([]);
  });
});
