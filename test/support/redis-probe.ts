// Whether a Redis answers PING: how Redis tests decide to skip (saying why) and how a test's
// own Redis server is awaited after it starts.

import { Redis } from 'ioredis';

/** The Redis the suite uses when REDIS_URL names none. */
export const TEST_REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

/**
 * True when the Redis at `url` answers PING within `connectTimeoutMs`. A closed port answers at
 * once, so skip decisions wait long (5 s) lest a busy machine skip a file; polls wait short.
 */
export async function redisAnswers(url: string, connectTimeoutMs = 5_000): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: connectTimeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
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
