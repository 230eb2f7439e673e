// Cross-instance invalidation through Redis pub/sub (REDIS_URL set), on a channel of this
// file's own so parallel files cannot interfere; a tenant's change travels through the outbox.
// Skipped, saying why, when no Redis answers.

import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bearer, signUp } from '../support/fixtures.js';
import { redisAnswers, TEST_REDIS_URL as REDIS_URL } from '../support/redis-probe.js';
import { startTestApp } from '../support/test-app.js';
import { crossInstanceScenarios } from './cross-instance.scenarios.js';
import { connected, eventually, startInstance } from './second-instance.js';

const redisReachable = await redisAnswers(REDIS_URL);
const channel = `tenantry:test:${randomUUID()}`;

describe.skipIf(!redisReachable)(`cache invalidation across instances through Redis pub/sub (skipped: no Redis answers at ${REDIS_URL})`, () => {
  crossInstanceScenarios(() => ({ REDIS_URL, TENANTRY_CACHE_CHANNEL: channel }));
});

describe.skipIf(!redisReachable)('cache invalidation through Redis when the changing instance never publishes', () => {
  it("reaches B through the outbox, delivered by B's relay, though A's relay never runs (as if A died after commit)", async () => {
    const env = { REDIS_URL, TENANTRY_CACHE_CHANNEL: `tenantry:test:${randomUUID()}` };
    const a = await startTestApp(env);
    const b = await startInstance(a.database, env);
    try {
      await connected(b.services);
      const tenant = await signUp(a.app);
      const darkMode = async () =>
        (await b.app.inject({ method: 'GET', url: '/v1/flags', headers: bearer(tenant.accessToken) })).json().data.find((flag: { key: string }) => flag.key === 'dark_mode');
      expect(await darkMode()).toMatchObject({ value: false });
      const set = await a.app.inject({ method: 'PUT', url: '/v1/flags/dark_mode', headers: bearer(tenant.accessToken), payload: { value: true } });
      expect(set.statusCode).toBe(200);
      // Nothing was published: B still serves its cached answer until a relay delivers the row.
      expect(await darkMode()).toMatchObject({ value: false });
      b.services.outbox.start();
      await eventually(async () => (await darkMode()).value === true);
      await eventually(async () => (await a.database.admin.query('SELECT 1 FROM outbox')).rowCount === 0);
    } finally {
      await b.services.outbox.stop();
      await b.close();
      await a.close();
    }
  });
});
