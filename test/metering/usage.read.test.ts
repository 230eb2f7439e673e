// GET /v1/usage: per metric, the open period's total, the plan's limit, percent used and a
// daily series; history by hour or day. Tenant B never sees anything of tenant A.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWithContext } from '../../src/tenancy/context.js';
import { bearer, expectProblem, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { rollUpAll } from './roll-up-all.js';

let testApp: TestApp;
let a: SignedUpTenant;
let b: SignedUpTenant;
const PLAN = 'metering_read_test';
const HOUR = 3_600_000;

beforeAll(async () => {
  testApp = await startTestApp();
  await testApp.database.admin.query(
    `INSERT INTO plans (key, name, monthly_price_cents, limits, api_rate_limit_per_minute, sort_order) VALUES ($1, 'Read test', 0, $2, NULL, 3)`,
    [PLAN, JSON.stringify({ tasks: 40, storage_bytes: null })],
  );
  a = await signUp(testApp.app);
  b = await signUp(testApp.app);
  await testApp.database.admin.query('UPDATE tenants SET plan = $1 WHERE id = ANY($2)', [PLAN, [a.tenantId, b.tenantId]]);
  const now = testApp.clock.now().getTime();
  const events = [
    ...Array.from({ length: 10 }, (_, i) => ({ metric: 'tasks', quantity: 1, idempotency_key: `t-${i}`, occurred_at: new Date(now - (i % 3) * HOUR).toISOString() })),
    { metric: 'storage_bytes', quantity: 500, idempotency_key: 's-1' },
    { metric: 'storage_bytes', quantity: 1500, idempotency_key: 's-2' },
  ];
  const sent = await testApp.app.inject({ method: 'POST', url: '/v1/usage/events', headers: bearer(a.accessToken), payload: { events } });
  expect(sent.json().accepted).toBe(12);
  await testApp.services.metering.apiCalls.flush();
  await rollUpAll(testApp);
});

afterAll(async () => {
  await testApp.close();
});

function usage(tenant: SignedUpTenant, query = '') {
  return testApp.app.inject({ method: 'GET', url: `/v1/usage${query}`, headers: bearer(tenant.accessToken) });
}

function metric(body: { metrics: Array<{ metric: string }> }, key: string): Record<string, any> {
  const found = body.metrics.find((entry) => entry.metric === key);
  if (!found) throw new Error(`no ${key} in ${JSON.stringify(body)}`);
  return found;
}

describe('GET /v1/usage', () => {
  it('gives each metric of the open period its total, limit, percent used and daily series', async () => {
    const response = await usage(a);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.granularity).toBe('day');
    const tasks = metric(body, 'tasks');
    // The period began on the hour the tenant was created: the 6 tasks of earlier hours (let in
    // by the grace window) belong to the period before.
    expect(tasks).toMatchObject({ unit: 'tasks', aggregation: 'count', total: 4, limit: 40, percentUsed: 10 });
    expect(tasks.series.reduce((sum: number, point: { value: number }) => sum + point.value, 0)).toBeGreaterThanOrEqual(4);
    expect(metric(body, 'storage_bytes')).toMatchObject({ aggregation: 'max', total: 1500, limit: null, percentUsed: null });
    expect(metric(body, 'api_calls').total).toBeGreaterThanOrEqual(1);
  });

  it('gives history by the hour for a range', async () => {
    const to = new Date(testApp.clock.now().getTime() + HOUR).toISOString();
    const from = new Date(testApp.clock.now().getTime() - 5 * HOUR).toISOString();
    const response = await usage(a, `?from=${from}&to=${to}&granularity=hour`);
    expect(response.statusCode).toBe(200);
    const tasks = metric(response.json(), 'tasks');
    expect(tasks.series.map((point: { value: number }) => point.value)).toEqual([3, 3, 4]);
    expect(tasks.total).toBe(10);
  });

  it('refuses a range that ends before it starts or has too many points', async () => {
    const now = testApp.clock.now().toISOString();
    expectProblem(await usage(a, `?from=${now}&to=${new Date(Date.now() - HOUR).toISOString()}`), 400, 'validation-failed');
    expectProblem(await usage(a, `?from=2020-01-01T00:00:00Z&to=${now}&granularity=hour`), 400, 'validation-failed');
    expectProblem(await usage(a, '?granularity=week'), 400, 'validation-failed');
  });
});

describe('usage across tenants', () => {
  it("never shows tenant A's usage to tenant B", async () => {
    const body = (await usage(b)).json();
    expect(metric(body, 'tasks')).toMatchObject({ total: 0, series: [] });
    expect(metric(body, 'storage_bytes').total).toBe(0);
  });

  it("refuses B's credential naming A's tenant", async () => {
    const response = await testApp.app.inject({
      method: 'GET',
      url: '/v1/usage',
      headers: { ...bearer(b.accessToken), 'x-tenant-id': a.tenantId },
    });
    expectProblem(response, 403, 'tenant-mismatch');
  });

  it("gives B's scoped transactions none of A's events, rollups or counters", async () => {
    const seen = await runWithContext({ requestId: 'test', tenantId: b.tenantId }, () =>
      testApp.services.db.tenant(async (tx) => ({
        events: await tx.selectFrom('usage_events').select('idempotency_key').where('idempotency_key', 'in', ['t-1', 's-1']).execute(),
        rollups: await tx.selectFrom('usage_rollups').select('metric').where('metric', '=', 'tasks').execute(),
      })),
    );
    expect(seen).toEqual({ events: [], rollups: [] });
  });
});
