// One tenant can neither read, replay nor configure another's webhooks. Over HTTP, B names A's
// endpoint and delivery ids everywhere a route takes one and gets what a made-up id gets, and
// A's rows stay as they were. Below HTTP, the module's own queries run as B with A's ids in
// three modes: both layers, RLS alone (query filter off), the query filter alone (RLS bypassed
// as the table owner); each layer alone must hold.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { claimAttempt, findDelivery, listDeliveries, settleDelivery } from '../../src/webhooks/delivery-repository.js';
import { deleteEndpoint, findEndpoint, listEndpoints, replaceSecret, secretsOf, updateEndpoint } from '../../src/webhooks/endpoint-repository.js';
import { publishTenantEvent } from '../../src/webhooks/publish-tenant-event.js';
import type { WebhookTx } from '../../src/webhooks/webhook-tables.js';
import { addNewMember, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { asTenant, startIsolationHarness, type IsolationHarness } from '../support/isolation-harness.js';
import type { TestTables } from '../support/modules.js';
import type { TestApp } from '../support/test-app.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { call, eventually, LOCAL_RECEIVER_ENV, startWebhookApp } from './support/webhook-app.js';

const MADE_UP = '01a23a08-0000-7000-8000-000000000000';

describe('over HTTP', () => {
  let testApp: TestApp;
  let receiver: Receiver;
  let a: SignedUpTenant;
  let b: SignedUpTenant;
  let endpointOfA: string;
  let deliveryOfA: string;

  /** A's webhook rows, read past both layers. */
  async function rowsOfA(): Promise<string[]> {
    const { rows } = await testApp.database.admin.query<{ row: string }>(
      `SELECT row_to_json(x)::text AS row FROM (
         SELECT 'e' AS t, to_jsonb(e) AS r FROM webhook_endpoints e WHERE tenant_id = $1
         UNION ALL SELECT 'v', to_jsonb(v) FROM webhook_events v WHERE tenant_id = $1
         UNION ALL SELECT 'd', to_jsonb(d) FROM webhook_deliveries d WHERE tenant_id = $1
         UNION ALL SELECT 'a', to_jsonb(a) FROM webhook_attempts a WHERE tenant_id = $1) x ORDER BY 1`,
      [a.tenantId],
    );
    return rows.map((row) => row.row);
  }

  beforeAll(async () => {
    testApp = await startWebhookApp(LOCAL_RECEIVER_ENV);
    receiver = await startReceiver();
    a = await signUp(testApp.app);
    b = await signUp(testApp.app);
    endpointOfA = (await call(testApp, a.accessToken, 'POST', '/v1/webhooks/endpoints', { url: receiver.url })).json().endpoint.id;
    await call(testApp, b.accessToken, 'POST', '/v1/webhooks/endpoints', { url: receiver.url });
    deliveryOfA = (await call(testApp, a.accessToken, 'POST', '/v1/webhooks/test', {})).json().deliveryIds[0];
    await eventually(async () => (await call(testApp, a.accessToken, 'GET', `/v1/webhooks/deliveries/${deliveryOfA}`)).json().delivery.status === 'succeeded');
  });

  afterAll(async () => {
    await receiver?.close();
    await testApp?.close();
  });

  const attacks: Array<[string, 'GET' | 'POST' | 'PATCH' | 'DELETE', (id: { endpoint: string; delivery: string }) => string, object | undefined]> = [
    ['reads an endpoint', 'GET', ({ endpoint }) => `/v1/webhooks/endpoints/${endpoint}`, undefined],
    ['changes an endpoint', 'PATCH', ({ endpoint }) => `/v1/webhooks/endpoints/${endpoint}`, { enabled: false }],
    ['deletes an endpoint', 'DELETE', ({ endpoint }) => `/v1/webhooks/endpoints/${endpoint}`, undefined],
    ['rotates a secret', 'POST', ({ endpoint }) => `/v1/webhooks/endpoints/${endpoint}/rotate-secret`, undefined],
    ['reads a delivery', 'GET', ({ delivery }) => `/v1/webhooks/deliveries/${delivery}`, undefined],
    ['replays a delivery', 'POST', ({ delivery }) => `/v1/webhooks/deliveries/${delivery}/replay`, undefined],
  ];

  for (const [what, method, url, body] of attacks) {
    it(`answers B exactly as for a made-up id when B ${what} of A, and A's rows stay as they were`, async () => {
      const before = await rowsOfA();
      const attacked = await call(testApp, b.accessToken, method, url({ endpoint: endpointOfA, delivery: deliveryOfA }), body);
      const madeUp = await call(testApp, b.accessToken, method, url({ endpoint: MADE_UP, delivery: MADE_UP }), body);
      expect(attacked.statusCode).toBe(404);
      expect(attacked.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(attacked.json().detail).toBe(madeUp.json().detail);
      expect(attacked.body).not.toContain(receiver.url);
      expect(await rowsOfA()).toEqual(before);
    });
  }

  it("does not send a test event to A's endpoint for B, and B's lists hold only B's rows", async () => {
    const before = await rowsOfA();
    const test = await call(testApp, b.accessToken, 'POST', '/v1/webhooks/test', { endpointId: endpointOfA });
    expect(test.statusCode).toBe(404);
    const endpoints = (await call(testApp, b.accessToken, 'GET', '/v1/webhooks/endpoints')).json().data;
    expect(endpoints.map((row: { id: string }) => row.id)).not.toContain(endpointOfA);
    expect(endpoints).toHaveLength(1);
    const deliveries = (await call(testApp, b.accessToken, 'GET', `/v1/webhooks/deliveries?endpointId=${endpointOfA}`)).json().data;
    expect(deliveries).toEqual([]);
    const all = (await call(testApp, b.accessToken, 'GET', '/v1/webhooks/deliveries')).json().data;
    expect(all.map((row: { id: string }) => row.id)).not.toContain(deliveryOfA);
    expect(await rowsOfA()).toEqual(before);
  });

  it('lets only owners and admins read or configure webhooks (403 for a member or viewer)', async () => {
    const member = await addNewMember(testApp.app, a.accessToken, 'member');
    for (const [method, url] of [
      ['GET', '/v1/webhooks/endpoints'],
      ['GET', '/v1/webhooks/deliveries'],
      ['POST', `/v1/webhooks/endpoints/${endpointOfA}/rotate-secret`],
    ] as const) {
      const response = await call(testApp, member.accessToken, method, url);
      expect(response.statusCode, `${method} ${url}`).toBe(403);
    }
  });
});

describe('below HTTP, each isolation layer on its own', () => {
  let harness: IsolationHarness;

  beforeAll(async () => {
    harness = await startIsolationHarness();
    // Both seeded deliveries waiting for their second attempt: claimable by their own tenant.
    await harness.database.admin.query(`UPDATE webhook_deliveries SET status = 'pending'`);
  });

  afterAll(() => harness?.close());

  const modes = {
    'both layers': () => harness.bothLayers(),
    'RLS alone (query filter off)': () => harness.rlsOnly(),
    'query filter alone (RLS bypassed as owner)': () => harness.filterOnly(),
  } as const;

  async function rowsOfA(): Promise<string[]> {
    const { rows } = await harness.database.admin.query<{ row: string }>(
      `SELECT to_jsonb(e)::text AS row FROM webhook_endpoints e WHERE tenant_id = $1
       UNION ALL SELECT to_jsonb(d)::text FROM webhook_deliveries d WHERE tenant_id = $1
       UNION ALL SELECT to_jsonb(v)::text FROM webhook_events v WHERE tenant_id = $1 ORDER BY 1`,
      [harness.a.tenantId],
    );
    return rows.map((row) => row.row);
  }

  for (const [mode, makeDb] of Object.entries(modes)) {
    it(`hides and protects A's endpoints, deliveries and events from B: ${mode}`, async () => {
      const db: Database<TestTables> = makeDb();
      const { a, b } = harness;
      const asB = <T>(work: (tx: WebhookTx) => Promise<T>) => asTenant(b, db, (tx) => work(tx as unknown as WebhookTx));
      const before = await rowsOfA();
      const now = new Date();

      expect(await asB((tx) => findEndpoint(tx, a.webhookEndpointId))).toBeUndefined();
      expect(await asB((tx) => secretsOf(tx, a.webhookEndpointId, true))).toBeUndefined();
      expect((await asB((tx) => listEndpoints(tx, 100, undefined))).rows.map((row) => row.id)).toEqual([b.webhookEndpointId]);
      expect(await asB((tx) => findDelivery(tx, a.webhookDeliveryId))).toBeUndefined();
      expect((await asB((tx) => listDeliveries(tx, {}, 100, undefined))).rows.map((row) => row.id)).toEqual([b.webhookDeliveryId]);
      expect(await asB((tx) => updateEndpoint(tx, a.webhookEndpointId, { url: 'https://attacker.example.com/' }, now))).toBeUndefined();
      expect(await asB((tx) => replaceSecret(tx, a.webhookEndpointId, { current: 'v1:x:x:x', previous: null, previousExpiresAt: null }, now))).toBeUndefined();
      expect(await asB((tx) => deleteEndpoint(tx, a.webhookEndpointId, now))).toBe(false);
      // The claim works for B's own waiting delivery (so the refusal below is the tenant's doing).
      expect(await asB((tx) => claimAttempt(tx, b.webhookDeliveryId, 1, now, now))).toMatchObject({ id: b.webhookDeliveryId });
      expect(await asB((tx) => claimAttempt(tx, a.webhookDeliveryId, 1, now, now))).toBeUndefined();
      expect(await asB((tx) => settleDelivery(tx, a.webhookDeliveryId, 1, { status: 'failed', attempts: 1, nextAttemptAt: null, lastError: 'x', now }))).toBe(false);
      // Publishing in B's unit of work for A is refused outright (filter: another tenant's row; RLS: WITH CHECK).
      await expect(asB((tx) => publishTenantEvent(tx, a.tenantId, { type: 'webhook.test', data: { message: 'forged' } }))).rejects.toThrow();

      expect(await rowsOfA()).toEqual(before);
    });
  }
});
