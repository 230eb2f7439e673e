// Cross-instance invalidation through Redis pub/sub (REDIS_URL set), on a channel of this
// file's own so parallel files cannot interfere. Skipped, saying why, when no Redis answers.

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe } from 'vitest';
import { crossInstanceScenarios } from './cross-instance.scenarios.js';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

/** A probe that timed out on a busy machine would skip the file: it waits 5 s (a closed port answers at once). */
async function reachable(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 5_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

const redisReachable = await reachable(REDIS_URL);
const channel = `tenantry:test:${randomUUID()}`;

describe.skipIf(!redisReachable)(`cache invalidation across instances through Redis pub/sub (skipped: no Redis answers at ${REDIS_URL})`, () => {
  crossInstanceScenarios(() => ({ REDIS_URL, TENANTRY_CACHE_CHANNEL: channel }));
});
