// With REDIS_URL pointing at a closed port the server keeps answering from the database,
// with the short degraded TTL, and logs the degradation; tenants still never share values.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signUp } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1', TENANTRY_CACHE_CHANNEL: 'tenantry:test:redis-down' });
});

afterAll(async () => {
  await testApp.close();
});

function flags(token: string) {
  return testApp.app.inject({ method: 'GET', url: '/v1/flags', headers: bearer(token) });
}

describe('when Redis is unreachable', () => {
  it('keeps answering from the database with a short TTL and logs the degradation', async () => {
    const tenant = await signUp(testApp.app);
    const response = await flags(tenant.accessToken);
    expect(response.statusCode).toBe(200);
    await expect.poll(() => testApp.logs().includes('cache invalidation degraded'), { timeout: 15_000 }).toBe(true);
    expect(testApp.services.invalidation.connected).toBe(false);
    expect(testApp.services.invalidation.ttlMs()).toBeLessThanOrEqual(2_000);
  });

  it('still applies changes at once on this instance and keeps tenants apart', async () => {
    const tenantA = await signUp(testApp.app);
    const tenantB = await signUp(testApp.app);
    await flags(tenantB.accessToken);
    const set = await testApp.app.inject({ method: 'PUT', url: '/v1/flags/dark_mode', headers: bearer(tenantA.accessToken), payload: { value: true } });
    expect(set.statusCode).toBe(200);
    const a = (await flags(tenantA.accessToken)).json().data.find((flag: { key: string }) => flag.key === 'dark_mode');
    const b = (await flags(tenantB.accessToken)).json().data.find((flag: { key: string }) => flag.key === 'dark_mode');
    expect(a).toMatchObject({ value: true, source: 'tenant' });
    expect(b).toMatchObject({ value: false, source: 'default' });
    // The others are told through the outbox, which keeps it until Redis is back.
    const { rows } = await testApp.database.admin.query('SELECT payload FROM outbox WHERE tenant_id = $1 AND topic = $2', [
      tenantA.tenantId,
      'cache.invalidate',
    ]);
    expect(rows).toEqual([{ payload: { scope: 'tenant', tenantId: tenantA.tenantId } }]);
  });

  it('answers plan changes, settings and the plan list while degraded', async () => {
    const tenant = await signUp(testApp.app);
    const plan = await testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(tenant.accessToken), payload: { plan: 'pro' } });
    expect(plan.statusCode).toBe(200);
    expect((await testApp.app.inject({ method: 'GET', url: '/v1/plans' })).statusCode).toBe(200);
    expect((await testApp.app.inject({ method: 'GET', url: '/v1/audit', headers: bearer(tenant.accessToken) })).statusCode).toBe(200);
  });
});
