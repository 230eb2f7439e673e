// How long a pool keeps a connection nobody uses. A request pool keeps them ten minutes by
// default (TENANTRY_DB_IDLE_TIMEOUT_MS): a new connection costs PostgreSQL tens of milliseconds
// of CPU, which a pool that let its connections go between bursts paid again at each one.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, loadConfig } from '../../src/config.js';
import { endPool } from '../../src/db/bounded-pool.js';
import { createPool } from '../../src/db/database.js';
import { silent } from '../support/isolation-harness.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const configWith = (env: Record<string, string>) => loadConfig({ TENANTRY_JWT_SECRET: 'x'.repeat(32), ...env });

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database.drop();
});

/** Checks out `count` connections at once and hands them all back. */
async function useConnections(pool: ReturnType<typeof createPool>, count: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: count }, () => pool.connect()));
  for (const client of clients) client.release();
}

describe('a request pool', () => {
  it('keeps its idle connections ten minutes unless configured otherwise', () => {
    expect(configWith({}).databaseLimits.idleTimeoutMs).toBe(600_000);
    expect(configWith({ TENANTRY_DB_IDLE_TIMEOUT_MS: '45000' }).databaseLimits.idleTimeoutMs).toBe(45_000);
  });

  it.each(['999', '86400001', 'soon'])('refuses TENANTRY_DB_IDLE_TIMEOUT_MS=%s', (value) => {
    expect(() => configWith({ TENANTRY_DB_IDLE_TIMEOUT_MS: value })).toThrow(ConfigError);
  });

  it('closes a connection idle past the timeout, and keeps one idle for less', async () => {
    const limits = { ...configWith({}).databaseLimits, idleTimeoutMs: 1_000 };
    const brief = createPool(database.url, 3, silent, limits);
    const lasting = createPool(database.url, 3, silent, configWith({}).databaseLimits);
    try {
      await Promise.all([useConnections(brief, 3), useConnections(lasting, 3)]);
      expect([brief.idleCount, lasting.idleCount]).toEqual([3, 3]);
      await sleep(1_600);
      expect(brief.totalCount).toBe(0);
      expect(lasting.idleCount).toBe(3);
    } finally {
      await Promise.all([endPool(brief), endPool(lasting)]);
    }
  });
});
