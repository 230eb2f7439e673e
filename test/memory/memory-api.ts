// Small builders for the memory tests: a tenant on a plan, and the agent and memory calls a
// client makes, over HTTP like a client.

import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { bearer, signUp, type SignedUpTenant } from '../support/fixtures.js';
import type { TestApp } from '../support/test-app.js';

export async function tenantOn(testApp: TestApp, plan: string): Promise<SignedUpTenant> {
  const tenant = await signUp(testApp.app);
  if (plan !== 'free') {
    const changed = await testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(tenant.accessToken), payload: { plan } });
    expect(changed.statusCode).toBe(200);
  }
  return tenant;
}

export function call(testApp: TestApp, tenant: SignedUpTenant, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return testApp.app.inject({ method, url, headers: { ...bearer(tenant.accessToken), ...headers }, ...(payload === undefined ? {} : { payload }) });
}

export async function createAgent(testApp: TestApp, tenant: SignedUpTenant, name: string): Promise<{ id: string; name: string }> {
  const response = await call(testApp, tenant, 'POST', '/v1/agents', { name });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

export async function storeMemory(testApp: TestApp, tenant: SignedUpTenant, body: Record<string, unknown>): Promise<{ outcome: string; memory: { id: string } & Record<string, unknown> }> {
  const response = await call(testApp, tenant, 'POST', '/v1/memories', body);
  expect([200, 201], response.body).toContain(response.statusCode);
  return response.json();
}

/** Live memories of the tenant, straight from the table. */
export async function liveMemories(testApp: TestApp, tenantId: string): Promise<number> {
  const { rows } = await testApp.database.admin.query('SELECT count(*)::int AS n FROM memories WHERE tenant_id = $1 AND deleted_at IS NULL', [tenantId]);
  return rows[0].n;
}

/**
 * Sets the tenant's memories level (the counter a store admits against) as if it held `level`
 * memories: reaching a limit of thousands takes one statement, not thousands of requests.
 */
export async function holdMemories(testApp: TestApp, tenantId: string, level: number): Promise<void> {
  await testApp.database.admin.query(
    `INSERT INTO usage_counters (tenant_id, metric, period_start, used) VALUES ($1, 'memories', 'epoch', $2)
     ON CONFLICT (tenant_id, metric, period_start) DO UPDATE SET used = excluded.used`,
    [tenantId, level],
  );
}

/** Writes `count` memories straight into the table (tagged), and sets the level to match. */
export async function seedMemories(testApp: TestApp, tenantId: string, count: number, tag: string): Promise<void> {
  await testApp.database.admin.query(
    `INSERT INTO memories (tenant_id, id, content, tags) SELECT $1, gen_random_uuid(), 'seeded memory number ' || n, ARRAY[$3] FROM generate_series(1, $2::int) n`,
    [tenantId, count, tag],
  );
  await holdMemories(testApp, tenantId, count);
}
