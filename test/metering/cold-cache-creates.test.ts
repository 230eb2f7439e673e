// One tenant cannot stall an instance: with the plan, metric and profile caches cold, three
// times the pool's size of parallel task creates all answer (201, or 429 past the plan's task
// quota), and another tenant's request sent meanwhile is served. A unit of work that reached
// for a second connection would fail at once (test/db/one-connection.test.ts) and show here
// as a 5xx, so no wall-clock bound is needed, nor trusted on a busy machine.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, TEST_POOL_SIZE, type TestApp } from '../support/test-app.js';

let testApp: TestApp;
let busy: SignedUpTenant & { projectId: string };
let bystander: SignedUpTenant & { projectId: string };
const PLAN = 'cold_cache_test';
const TASK_LIMIT = 2 * TEST_POOL_SIZE;

async function withProject(tenant: SignedUpTenant): Promise<SignedUpTenant & { projectId: string }> {
  const project = await testApp.app.inject({ method: 'POST', url: '/v1/projects', headers: bearer(tenant.accessToken), payload: { name: 'Load' } });
  expect(project.statusCode).toBe(201);
  return { ...tenant, projectId: project.json().id };
}

/** Every cache a task create reads goes stale at once, as after a TTL expiry or an invalidation. */
async function coldCaches(): Promise<void> {
  const { invalidation, metering } = testApp.services;
  invalidation.evictHere({ scope: 'platform' });
  for (const tenant of [busy, bystander]) invalidation.evictHere({ scope: 'tenant', tenantId: tenant.tenantId });
  metering.catalog.invalidate();
}

function createTask(tenant: SignedUpTenant & { projectId: string }, title: string) {
  return testApp.app.inject({
    method: 'POST',
    url: '/v1/tasks',
    headers: bearer(tenant.accessToken),
    payload: { projectId: tenant.projectId, title },
  });
}

beforeAll(async () => {
  testApp = await startTestApp();
  // A task quota the burst passes, so the quota check reads a real limit from the plan catalog.
  await testApp.database.admin.query(
    `INSERT INTO plans (key, name, monthly_price_cents, limits, api_rate_limit_per_minute, sort_order) VALUES ($1, 'Cold cache', 0, $2, NULL, 1)`,
    [PLAN, JSON.stringify({ tasks: TASK_LIMIT })],
  );
  busy = await withProject(await signUp(testApp.app));
  await testApp.database.admin.query('UPDATE tenants SET plan = $2 WHERE id = $1', [busy.tenantId, PLAN]);
  bystander = await withProject(await signUp(testApp.app));
});

afterAll(async () => {
  await testApp.close();
});

describe('parallel task creates with cold caches', () => {
  it(`answer all ${3 * TEST_POOL_SIZE} (201 up to the quota, then 429) while another tenant is served`, async () => {
    await coldCaches();
    const creates = Promise.all(Array.from({ length: 3 * TEST_POOL_SIZE }, (_, i) => createTask(busy, `burst ${i}`)));
    // Sent after the whole burst, so it queues behind it for a connection.
    const other = createTask(bystander, 'meanwhile');
    const [responses, answer] = await Promise.all([creates, other]);

    const statuses = responses.map((response) => response.statusCode).sort();
    expect(statuses).toEqual([...Array(TASK_LIMIT).fill(201), ...Array(TEST_POOL_SIZE).fill(429)]);
    expect(answer.statusCode).toBe(201);
  });
});
