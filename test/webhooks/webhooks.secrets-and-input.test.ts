// The signing secret is answered once (creation, rotation) and then never: not in any later
// answer, not in the logs, not in the audit log, and not in the database in the clear (it is
// sealed under the server's key, bound to its row). Bad input is a 4xx problem and changes nothing.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { SecretBox } from '../../src/webhooks/secret-box.js';
import { expectProblem, signUp, type SignedUpTenant } from '../support/fixtures.js';
import type { TestApp } from '../support/test-app.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { call, eventually, LOCAL_RECEIVER_ENV, startWebhookApp } from './support/webhook-app.js';

let testApp: TestApp;
let receiver: Receiver;
let owner: SignedUpTenant;

beforeAll(async () => {
  testApp = await startWebhookApp(LOCAL_RECEIVER_ENV);
  receiver = await startReceiver();
  owner = await signUp(testApp.app);
});

afterAll(async () => {
  await receiver?.close();
  await testApp?.close();
});

/**
 * Every row of the tables a webhook request could write, as text. (Usage tables are left out:
 * every request is metered as an API call a moment later, whatever it answered.)
 */
async function everythingStored(): Promise<string> {
  const tables = ['webhook_endpoints', 'webhook_events', 'webhook_deliveries', 'webhook_attempts', 'audit_log', 'outbox', 'tenants'];
  const parts = await Promise.all(
    tables.map(async (table) => (await testApp.database.admin.query(`SELECT coalesce(string_agg(t::text, '|'), '') AS rows FROM ${table} t`)).rows[0].rows as string),
  );
  return parts.join('\n');
}

describe('the signing secret', () => {
  it('is answered at creation and rotation only, and never appears in later answers, logs, the audit log or the database', async () => {
    const created = await call(testApp, owner.accessToken, 'POST', '/v1/webhooks/endpoints', { url: receiver.url, description: 'billing' });
    const { endpoint, secret } = created.json();
    const rotated = (await call(testApp, owner.accessToken, 'POST', `/v1/webhooks/endpoints/${endpoint.id}/rotate-secret`)).json();
    const { deliveryIds } = (await call(testApp, owner.accessToken, 'POST', '/v1/webhooks/test', {})).json();
    await eventually(async () => (await call(testApp, owner.accessToken, 'GET', `/v1/webhooks/deliveries/${deliveryIds[0]}`)).json().delivery.status === 'succeeded');

    const secrets = [secret, rotated.secret].flatMap((value: string) => [value, value.slice('whsec_'.length)]);
    const answers = await Promise.all(
      ['/v1/webhooks/endpoints', `/v1/webhooks/endpoints/${endpoint.id}`, '/v1/webhooks/deliveries', `/v1/webhooks/deliveries/${deliveryIds[0]}`].map(
        async (url) => (await call(testApp, owner.accessToken, 'GET', url)).body,
      ),
    );
    const patched = (await call(testApp, owner.accessToken, 'PATCH', `/v1/webhooks/endpoints/${endpoint.id}`, { description: 'renamed' })).body;
    const hex = (value: string) => Buffer.from(value.replace(/^whsec_/, ''), 'base64').toString('hex');
    const stored = await everythingStored();
    for (const value of secrets) {
      for (const answer of [...answers, patched]) expect(answer).not.toContain(value);
      expect(testApp.logs()).not.toContain(value);
      expect(stored).not.toContain(value);
    }
    for (const value of [secret, rotated.secret]) expect(stored).not.toContain(hex(value));
    expect(stored).toContain('webhook_endpoint.secret_rotated');
  });

  it('is sealed so that it opens only under the same key for the same tenant and endpoint', async () => {
    const box = new SecretBox(async () => randomBytes(32));
    const owner1 = { tenantId: '01a23a08-0000-7000-8000-000000000001', endpointId: '01a23a08-0000-7000-8000-000000000002' };
    const sealed = await box.seal('whsec_abc', owner1);
    expect(await box.open(sealed, owner1)).toBe('whsec_abc');
    await expect(box.open(sealed, { ...owner1, tenantId: '01a23a08-0000-7000-8000-000000000003' })).rejects.toThrow();
    await expect(box.open(sealed, { ...owner1, endpointId: '01a23a08-0000-7000-8000-000000000003' })).rejects.toThrow();
    await expect(new SecretBox(async () => randomBytes(32)).open(sealed, owner1)).rejects.toThrow();
  });

  it('that no longer opens (the server key was replaced) fails its deliveries at once, saying why, and sends nothing unsigned', async () => {
    const tenant = await signUp(testApp.app);
    const { endpoint } = (await call(testApp, tenant.accessToken, 'POST', '/v1/webhooks/endpoints', { url: receiver.url })).json();
    const otherKey = new SecretBox(async () => randomBytes(32));
    const sealedElsewhere = await otherKey.seal('whsec_' + randomBytes(32).toString('base64'), { tenantId: tenant.tenantId, endpointId: endpoint.id });
    await testApp.database.admin.query('UPDATE webhook_endpoints SET secret_ciphertext = $1 WHERE id = $2', [sealedElsewhere, endpoint.id]);
    const sent = receiver.received.length;
    const { deliveryIds } = (await call(testApp, tenant.accessToken, 'POST', '/v1/webhooks/test', {})).json();
    let detail: { delivery: { status: string; lastError: string }; attempts: unknown[] } | undefined;
    await eventually(async () => {
      detail = (await call(testApp, tenant.accessToken, 'GET', `/v1/webhooks/deliveries/${deliveryIds[0]}`)).json();
      return detail!.delivery.status !== 'pending';
    });
    expect(detail!.delivery).toMatchObject({ status: 'failed', lastError: expect.stringMatching(/could not be opened/) });
    expect(detail!.attempts).toEqual([]);
    expect(receiver.received).toHaveLength(sent);
  });

  it('cannot be sealed with an external database and no configured key: 503, and nothing is saved', async () => {
    const box = SecretBox.fromConfig(loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/x', TENANTRY_JWT_SECRET: 'x'.repeat(40) }));
    await expect(box.seal('whsec_abc', { tenantId: 'a', endpointId: 'b' })).rejects.toMatchObject({ code: 'webhook-signing-unavailable' });
  });
});

describe('bad input', () => {
  const cases: Array<[string, 'POST' | 'PATCH', (id: string) => string, unknown, number, string]> = [
    ['an unknown field', 'POST', () => '/v1/webhooks/endpoints', { url: 'https://93.184.215.14/', secret: 'mine' }, 400, 'validation-failed'],
    ['no url', 'POST', () => '/v1/webhooks/endpoints', { description: 'x' }, 400, 'validation-failed'],
    ['a url that is no URL', 'POST', () => '/v1/webhooks/endpoints', { url: 'hooks' }, 400, 'webhook-url-refused'],
    ['an internal address', 'POST', () => '/v1/webhooks/endpoints', { url: 'http://10.0.0.1/' }, 400, 'webhook-url-refused'],
    ['an event type that is no name', 'POST', () => '/v1/webhooks/endpoints', { url: 'https://93.184.215.14/', eventTypes: ['Usage Warning'] }, 400, 'validation-failed'],
    ['an empty event type list', 'POST', () => '/v1/webhooks/endpoints', { url: 'https://93.184.215.14/', eventTypes: [] }, 400, 'validation-failed'],
    ['a description of 501 characters', 'POST', () => '/v1/webhooks/endpoints', { url: 'https://93.184.215.14/', description: 'x'.repeat(501) }, 400, 'validation-failed'],
    ['an empty change', 'PATCH', (id) => `/v1/webhooks/endpoints/${id}`, {}, 400, 'validation-failed'],
    ['enabled as text', 'PATCH', (id) => `/v1/webhooks/endpoints/${id}`, { enabled: 'no' }, 400, 'validation-failed'],
    ['a new internal address', 'PATCH', (id) => `/v1/webhooks/endpoints/${id}`, { url: 'https://169.254.169.254/' }, 400, 'webhook-url-refused'],
    ['a test event for a malformed id', 'POST', () => '/v1/webhooks/test', { endpointId: 'nope' }, 400, 'validation-failed'],
  ];

  it.each(cases)('refuses %s with a problem and changes nothing', async (_what, method, url, payload, status, code) => {
    const endpoint = (await call(testApp, owner.accessToken, 'GET', '/v1/webhooks/endpoints')).json().data[0];
    const before = await everythingStored();
    const response = await testApp.app.inject({ method, url: url(endpoint.id), headers: { authorization: `Bearer ${owner.accessToken}` }, payload: payload as object });
    expectProblem(response, status, code);
    expect(await everythingStored()).toEqual(before);
  });

  it('refuses a malformed cursor or status on the delivery log', async () => {
    expectProblem(await call(testApp, owner.accessToken, 'GET', '/v1/webhooks/deliveries?cursor=garbage'), 400, 'validation-failed');
    expectProblem(await call(testApp, owner.accessToken, 'GET', '/v1/webhooks/deliveries?status=lost'), 400, 'validation-failed');
    expectProblem(await call(testApp, owner.accessToken, 'GET', '/v1/webhooks/deliveries?limit=1000'), 400, 'validation-failed');
  });

  it('refuses an eleventh endpoint with 409', async () => {
    const other = await signUp(testApp.app);
    for (let i = 0; i < 10; i += 1) {
      expect((await call(testApp, other.accessToken, 'POST', '/v1/webhooks/endpoints', { url: `https://93.184.215.14/${i}` })).statusCode).toBe(201);
    }
    expectProblem(await call(testApp, other.accessToken, 'POST', '/v1/webhooks/endpoints', { url: 'https://93.184.215.14/11' }), 409, 'conflict');
  });
});
