// Cross-instance invalidation through Redis pub/sub (REDIS_URL set), on a channel of this
// file's own so parallel files cannot interfere. Skipped, saying why, when no Redis answers.

import { randomUUID } from 'node:crypto';
import { describe } from 'vitest';
import { redisAnswers, TEST_REDIS_URL as REDIS_URL } from '../support/redis-probe.js';
import { crossInstanceScenarios } from './cross-instance.scenarios.js';

const redisReachable = await redisAnswers(REDIS_URL);
const channel = `tenantry:test:${randomUUID()}`;

describe.skipIf(!redisReachable)(`cache invalidation across instances through Redis pub/sub (skipped: no Redis answers at ${REDIS_URL})`, () => {
  crossInstanceScenarios(() => ({ REDIS_URL, TENANTRY_CACHE_CHANNEL: channel }));
});
