// While Redis is stalled (SIGSTOP: connections open, no answer, no error), a committed change
// answers at once, the other instance converges within the short degraded TTL, and rate-limited
// requests fall back to local buckets without waiting on Redis each time.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { connected, eventually, startInstance, type Instance } from '../cache/second-instance.js';
import { startOwnRedis, type OwnRedis } from './support/own-redis.js';

let redis: OwnRedis;
let a: TestApp;
let b: Instance;
let tenant: SignedUpTenant;

beforeAll(async () => {
  redis = await startOwnRedis();
  // B's cache TTL is 30 s: only the degradation handling explains seeing A's change sooner.
  const env = { REDIS_URL: redis.url, TENANTRY_CACHE_TTL_SECONDS: '30', TENANTRY_RATE_LIMITS: 'true' };
  a = await startTestApp(env);
  b = await startInstance(a.database, env);
  await connected(a.services);
  await connected(b.services);
  tenant = await signUp(a.app);
});

afterAll(async () => {
  await b?.close();
  await a?.close();
  await redis?.stop();
});

function timeZoneOn(app: { inject: TestApp['app']['inject'] }) {
  return app.inject({ method: 'GET', url: '/v1/tenant/settings', headers: bearer(tenant.accessToken) }).then((response) => response.json().timeZone);
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

describe('Redis stalled', () => {
  it('answers a committed change promptly, and the other instance converges within seconds', async () => {
    expect(await timeZoneOn(b.app)).toBe('UTC'); // cached on B for 30 s from now
    const stall = redis.stall();
    try {
      const patched = await timed(() =>
        a.app.inject({ method: 'PATCH', url: '/v1/tenant/settings', headers: bearer(tenant.accessToken), payload: { timeZone: 'Asia/Tokyo' } }),
      );
      expect(patched.value.statusCode).toBe(200);
      expect(patched.ms).toBeLessThan(1_500);
      // B notices the silence (heartbeat), drops its entries and caches for the degraded TTL
      // only: it converges long before its 30 s TTL would (polled, up to a third of it).
      await eventually(async () => (await timeZoneOn(b.app)) === 'Asia/Tokyo');
      expect(b.services.invalidation.connected).toBe(false);
      expect(b.services.invalidation.ttlMs()).toBeLessThanOrEqual(2_000);

      const answers = [];
      for (let i = 0; i < 10; i++) {
        answers.push(await timed(() => a.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(tenant.accessToken) })));
      }
      expect(answers.map((answer) => answer.value.statusCode)).toEqual(Array(10).fill(200));
      // At most one request pays the rate-limit command timeout; the rest use local buckets at once.
      expect(answers.filter((answer) => answer.ms > 200).length).toBeLessThanOrEqual(1);
    } finally {
      stall.resume();
    }
    await connected(a.services);
    await connected(b.services);
  });
});
