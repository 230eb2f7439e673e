// POST /v1/usage/events: a batch is checked event by event, deduplicated by idempotency key
// within the batch and across batches, and stored with one statement; who may send it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWithContext } from '../../src/tenancy/context.js';
import { bearer, expectProblem, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN_TOKEN = 'metering-admin-token-that-is-long-enough-1234';
let testApp: TestApp;
let tenant: SignedUpTenant;

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
  tenant = await signUp(testApp.app);
});

afterAll(async () => {
  await testApp.close();
});

function send(token: string, events: unknown[]) {
  return testApp.app.inject({ method: 'POST', url: '/v1/usage/events', headers: bearer(token), payload: { events } });
}

async function storedKeys(tenantId: string): Promise<string[]> {
  const { rows } = await testApp.database.admin.query(
    "SELECT idempotency_key FROM usage_events WHERE tenant_id = $1 AND idempotency_key NOT LIKE 'api:%' ORDER BY 1",
    [tenantId],
  );
  return rows.map((row) => row.idempotency_key);
}

async function apiKey(role: string, scopes: string[], accessToken = tenant.accessToken): Promise<string> {
  const response = await testApp.app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: bearer(accessToken),
    payload: { name: `key ${role} ${scopes.join(',')}`, role, scopes },
  });
  expect(response.statusCode).toBe(201);
  return response.json().key;
}

describe('POST /v1/usage/events', () => {
  it('stores new events and reports repeated keys as duplicates, within a batch and across batches', async () => {
    const first = await send(tenant.accessToken, [
      { metric: 'storage_bytes', quantity: 1, idempotency_key: 'dup-a' },
      { metric: 'storage_bytes', quantity: 2, idempotency_key: 'dup-b' },
      { metric: 'storage_bytes', quantity: 3, idempotency_key: 'dup-a' },
    ]);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ accepted: 2, duplicates: ['dup-a'], rejected: [] });

    const second = await send(tenant.accessToken, [
      { metric: 'storage_bytes', quantity: 5, idempotency_key: 'dup-b' },
      { metric: 'storage_bytes', quantity: 1, idempotency_key: 'dup-c' },
    ]);
    expect(second.json()).toEqual({ accepted: 1, duplicates: ['dup-b'], rejected: [] });
    expect(await storedKeys(tenant.tenantId)).toEqual(['dup-a', 'dup-b', 'dup-c']);
    const { rows } = await testApp.database.admin.query(
      "SELECT quantity::int FROM usage_events WHERE tenant_id = $1 AND idempotency_key = 'dup-b'",
      [tenant.tenantId],
    );
    expect(rows).toEqual([{ quantity: 2 }]);
  });

  it('stores each event as sent: its instant, its properties, and NULL where it or its whole batch has none', async () => {
    const at = new Date(testApp.clock.now().getTime() - 90_000);
    // Offsets and fractions name the same instant as the UTC text the table is compared with.
    const mixed = await send(tenant.accessToken, [
      { metric: 'storage_bytes', quantity: 7, idempotency_key: 'row-a', occurred_at: at.toISOString(), properties: { region: 'eu', n: 2 } },
      { metric: 'storage_bytes', quantity: 8, idempotency_key: 'row-b', occurred_at: at.toISOString().replace('Z', '+00:00') },
    ]);
    expect(mixed.json()).toMatchObject({ accepted: 2 });
    const bare = await send(tenant.accessToken, [{ metric: 'storage_bytes', quantity: 9, idempotency_key: 'row-c', occurred_at: at.toISOString() }]);
    expect(bare.json()).toMatchObject({ accepted: 1 });
    const { rows } = await testApp.database.admin.query(
      `SELECT idempotency_key, quantity::int, occurred_at, properties, unique_value FROM usage_events
       WHERE tenant_id = $1 AND idempotency_key LIKE 'row-%' ORDER BY 1`,
      [tenant.tenantId],
    );
    expect(rows).toEqual([
      { idempotency_key: 'row-a', quantity: 7, occurred_at: at, properties: { region: 'eu', n: 2 }, unique_value: null },
      { idempotency_key: 'row-b', quantity: 8, occurred_at: at, properties: null, unique_value: null },
      { idempotency_key: 'row-c', quantity: 9, occurred_at: at, properties: null, unique_value: null },
    ]);
  });

  it('rejects unknown metrics, future events and events before the grace window one by one, keeping the rest', async () => {
    const now = testApp.clock.now().getTime();
    const response = await send(tenant.accessToken, [
      { metric: 'no_such_metric', quantity: 1, idempotency_key: 'r-unknown' },
      { metric: 'tasks', quantity: 1, idempotency_key: 'r-future', occurred_at: new Date(now + 6 * 60_000).toISOString() },
      { metric: 'tasks', quantity: 1, idempotency_key: 'r-near-future', occurred_at: new Date(now + 4 * 60_000).toISOString() },
      { metric: 'tasks', quantity: 1, idempotency_key: 'r-old', occurred_at: new Date(now - 40 * 86_400_000).toISOString() },
      { metric: 'tasks', quantity: 1, idempotency_key: 'r-recent', occurred_at: new Date(now - 47 * 3_600_000).toISOString() },
    ]);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      accepted: 2,
      duplicates: [],
      rejected: [
        { index: 0, idempotency_key: 'r-unknown', reason: 'unknown-metric' },
        { index: 1, idempotency_key: 'r-future', reason: 'too-far-in-future' },
        { index: 3, idempotency_key: 'r-old', reason: 'too-old' },
      ],
    });
    const keys = await storedKeys(tenant.tenantId);
    expect(keys).toContain('r-near-future');
    expect(keys).toContain('r-recent');
    expect(keys).not.toContain('r-old');
  });

  it('refuses a batch over 1,000 events, a negative quantity and unknown fields as a whole', async () => {
    const many = Array.from({ length: 1001 }, (_, i) => ({ metric: 'tasks', quantity: 1, idempotency_key: `many-${i}` }));
    expectProblem(await send(tenant.accessToken, many), 400, 'validation-failed');
    expectProblem(await send(tenant.accessToken, [{ metric: 'tasks', quantity: -1, idempotency_key: 'neg' }]), 400, 'validation-failed');
    expectProblem(await send(tenant.accessToken, [{ metric: 'tasks', quantity: 1, idempotency_key: 'x', tenant_id: tenant.tenantId }]), 400);
    expect(await storedKeys(tenant.tenantId)).not.toContain('neg');
  });

  it('refuses a whole batch with 400 naming each event whose quantity a count metric would ignore, and stores none of it', async () => {
    const response = await send(tenant.accessToken, [
      { metric: 'tasks', quantity: 1, idempotency_key: 'count-one' },
      { metric: 'tasks', idempotency_key: 'count-absent' },
      { metric: 'tasks', quantity: 5, idempotency_key: 'count-five' },
      { metric: 'storage_bytes', idempotency_key: 'max-absent' },
    ]);
    const problem = expectProblem(response, 400, 'validation-failed');
    expect(problem.errors).toEqual([
      { field: 'body.events.2.quantity', message: expect.stringMatching(/^must be 1 or absent: tasks is a count metric, which counts events/) },
      { field: 'body.events.3.quantity', message: 'is required: storage_bytes is a max metric of the quantities sent' },
    ]);
    const keys = await storedKeys(tenant.tenantId);
    for (const key of ['count-one', 'count-absent', 'count-five', 'max-absent']) expect(keys).not.toContain(key);
  });

  it('counts an event of a count metric sent without a quantity once', async () => {
    const response = await send(tenant.accessToken, [{ metric: 'tasks', idempotency_key: 'count-implied' }]);
    expect(response.json()).toEqual({ accepted: 1, duplicates: [], rejected: [] });
    const { rows } = await testApp.database.admin.query("SELECT quantity::int FROM usage_events WHERE tenant_id = $1 AND idempotency_key = 'count-implied'", [
      tenant.tenantId,
    ]);
    expect(rows).toEqual([{ quantity: 1 }]);
  });

  it('takes 1,000 events in one request', async () => {
    const events = Array.from({ length: 1000 }, (_, i) => ({ metric: 'api_calls', quantity: 1, idempotency_key: `bulk-${i}` }));
    const response = await send(tenant.accessToken, events);
    expect(response.json()).toMatchObject({ accepted: 1000, duplicates: [], rejected: [] });
    const again = await send(tenant.accessToken, events);
    expect(again.json().accepted).toBe(0);
    expect(again.json().duplicates).toHaveLength(1000);
  });

  it('lets an API key send usage with the metering:write scope, and refuses a viewer key without it', async () => {
    const scoped = await apiKey('viewer', ['metering:write']);
    expect((await send(scoped, [{ metric: 'tasks', quantity: 1, idempotency_key: 'scoped-1' }])).statusCode).toBe(200);
    const viewer = await apiKey('viewer', []);
    expectProblem(await send(viewer, [{ metric: 'tasks', quantity: 1, idempotency_key: 'viewer-1' }]), 403, 'forbidden');
    expect(await storedKeys(tenant.tenantId)).not.toContain('viewer-1');
  });

  it('keeps idempotency keys per tenant: the same key in two tenants is two events', async () => {
    const other = await signUp(testApp.app);
    const event = { metric: 'tasks', quantity: 1, idempotency_key: 'shared-key' };
    expect((await send(tenant.accessToken, [event])).json().accepted).toBe(1);
    expect((await send(other.accessToken, [event])).json().accepted).toBe(1);
    expect(await storedKeys(other.tenantId)).toEqual(['shared-key']);
  });
});

describe('user-defined metrics', () => {
  it('lets the platform operator add one, which tenants can then send, and no one else add', async () => {
    const metric = { key: 'active_editors', unit: 'users', aggregation: 'unique_count', uniqueBy: 'user' };
    expectProblem(
      await testApp.app.inject({ method: 'POST', url: '/v1/admin/usage-metrics', headers: bearer(tenant.accessToken), payload: metric }),
      403,
    );
    const created = await testApp.app.inject({ method: 'POST', url: '/v1/admin/usage-metrics', headers: bearer(ADMIN_TOKEN), payload: metric });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ key: 'active_editors', aggregation: 'unique_count', uniqueBy: 'user', resets: true });
    expectProblem(
      await testApp.app.inject({ method: 'POST', url: '/v1/admin/usage-metrics', headers: bearer(ADMIN_TOKEN), payload: metric }),
      409,
      'conflict',
    );

    const listed = await testApp.app.inject({ method: 'GET', url: '/v1/usage/metrics', headers: bearer(tenant.accessToken) });
    expect(listed.json().data.map((entry: { key: string }) => entry.key)).toContain('active_editors');
    const response = await send(tenant.accessToken, [
      { metric: 'active_editors', quantity: 1, idempotency_key: 'ed-1', properties: { user: 'ada' } },
      { metric: 'active_editors', quantity: 1, idempotency_key: 'ed-2' },
    ]);
    expect(response.json()).toEqual({
      accepted: 1,
      duplicates: [],
      rejected: [{ index: 1, idempotency_key: 'ed-2', reason: 'missing-unique-property' }],
    });
    const { rows } = await testApp.database.admin.query(
      "SELECT unique_value, properties FROM usage_events WHERE tenant_id = $1 AND idempotency_key = 'ed-1'",
      [tenant.tenantId],
    );
    expect(rows).toEqual([{ unique_value: 'ada', properties: { user: 'ada' } }]);
  });

  it('refuses uniqueBy on anything but unique_count', async () => {
    const response = await testApp.app.inject({
      method: 'POST',
      url: '/v1/admin/usage-metrics',
      headers: bearer(ADMIN_TOKEN),
      payload: { key: 'odd_metric', unit: 'x', aggregation: 'sum', uniqueBy: 'user' },
    });
    expectProblem(response, 400, 'validation-failed');
  });
});

describe('stored events', () => {
  it('cannot be rewritten by requests, even in their own tenant: only deleted_at is updatable', async () => {
    await send(tenant.accessToken, [{ metric: 'storage_bytes', quantity: 4, idempotency_key: 'frozen' }]);
    const rewrite = runWithContext({ requestId: 'test', tenantId: tenant.tenantId }, () =>
      testApp.services.db.tenant((tx) => tx.updateTable('usage_events').set({ quantity: 0 }).where('idempotency_key', '=', 'frozen').execute()),
    );
    await expect(rewrite).rejects.toThrow(/permission denied/);
  });
});

// Last in the file: it moves the clock ten days on.
describe('the late-usage window after the billing anchor moves', () => {
  it('follows the moved anchor once the remembered one is a minute old', async () => {
    const moving = await signUp(testApp.app);
    const key = await apiKey('admin', ['metering:write'], moving.accessToken);
    const signedUpAt = testApp.clock.now().getTime();
    // The first batch reads (and remembers) the anchor: the sign-up's hour.
    expect((await send(key, [{ metric: 'tasks', quantity: 1, idempotency_key: 'm-first' }])).json().accepted).toBe(1);
    // Ten days on, billing moves the anchor (as following a Stripe subscription does).
    testApp.clock.advance(10 * 86_400);
    const movedTo = new Date(testApp.clock.now().getTime() - 60_000);
    await testApp.database.admin.query('UPDATE tenants SET billing_anchor = $2 WHERE id = $1', [moving.tenantId, movedTo]);
    // An event of day five was in the old period; the new one starts today, so it is too old now.
    const dayFive = new Date(signedUpAt + 5 * 86_400_000).toISOString();
    expect((await send(key, [{ metric: 'tasks', quantity: 1, idempotency_key: 'm-day-five', occurred_at: dayFive }])).json()).toEqual({
      accepted: 0,
      duplicates: [],
      rejected: [{ index: 0, idempotency_key: 'm-day-five', reason: 'too-old' }],
    });
  });
});
