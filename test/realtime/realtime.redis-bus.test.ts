// The same delivery across two instances with REDIS_URL set: events and presence travel on
// Redis pub/sub instead of LISTEN/NOTIFY, and still reach exactly the tenant's sockets.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signUp } from '../support/fixtures.js';
import { redisAnswers, TEST_REDIS_URL } from '../support/redis-probe.js';
import { connect } from './support/realtime-client.js';
import { startRealtimeInstances, type RealtimeInstances } from './support/realtime-instances.js';

const redisReachable = await redisAnswers(TEST_REDIS_URL);

describe.skipIf(!redisReachable)(`realtime across instances through Redis pub/sub (skipped: no Redis answers at ${TEST_REDIS_URL})`, () => {
  let instances: RealtimeInstances;

  beforeAll(async () => {
    // A channel of this file's own: other suites may share the Redis.
    const suffix = randomBytes(4).toString('hex');
    instances = await startRealtimeInstances({
      REDIS_URL: TEST_REDIS_URL,
      TENANTRY_REALTIME_CHANNEL: `tenantry_realtime_test_${suffix}`,
      TENANTRY_CACHE_CHANNEL: `tenantry_cache_test_${suffix}`,
    });
  });

  afterAll(async () => {
    await instances?.close();
  });

  it("delivers a change made through A to the tenant's socket on B, and not to another tenant's", async () => {
    expect(instances.a.services.realtime.hub.listening).toBe(true);
    const tenant = await signUp(instances.a.app);
    const other = await signUp(instances.a.app);
    const project = await instances.a.app.inject({ method: 'POST', url: '/v1/projects', headers: bearer(tenant.accessToken), payload: { name: 'Redis' } });
    const onB = await connect(instances.urlB, { token: tenant.apiKey });
    const otherOnB = await connect(instances.urlB, { token: other.apiKey });
    await Promise.all([onB, otherOnB].map((client) => client.waitFor((message) => message.type === 'synced')));

    const task = await instances.a.app.inject({ method: 'POST', url: '/v1/tasks', headers: bearer(tenant.accessToken), payload: { projectId: project.json().id, title: 'over redis' } });
    const id = task.json().id;
    expect(await onB.waitFor((message) => message.data?.id === id)).toMatchObject({ channel: 'tasks', event: 'task.created' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(otherOnB.events()).toEqual([]);
    await Promise.all([onB.close(), otherOnB.close()]);
  });
});
