// Picks the invalidation transport from the config: Redis pub/sub when REDIS_URL is set,
// else PostgreSQL LISTEN/NOTIFY on a connection of its own to the app's database.

import type pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { CacheInvalidation } from './cache-invalidation.js';
import { PostgresTransport } from './postgres-transport.js';
import { RedisTransport } from './redis-transport.js';

/** While invalidations cannot arrive, entries live at most this long. */
const DEGRADED_TTL_MS = 2_000;

export function createInvalidation(config: Config, pool: pg.Pool, logger: Logger): CacheInvalidation {
  const transport = config.redisUrl
    ? new RedisTransport(config.redisUrl, config.cacheChannel, logger)
    : new PostgresTransport(pool.options, config.cacheChannel);
  const ttlMs = config.cacheTtlSeconds * 1000;
  const invalidation = new CacheInvalidation({
    transport,
    logger,
    ttlMs,
    degradedTtlMs: Math.min(ttlMs, DEGRADED_TTL_MS),
  });
  // Not started here: the app starts it when it is ready (onReady), so a CLI command that
  // only borrows the services opens no listener connection that would keep it alive.
  return invalidation;
}
