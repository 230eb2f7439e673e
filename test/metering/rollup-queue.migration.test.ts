// Migration 0006 on data stored before it: events the watermark had passed are rolled up
// already and are not queued again; events above it are queued, and the next rollup counts
// each of them once.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asRole } from '../../src/db/open-database.js';
import { createPool, Database } from '../../src/db/database.js';
import { rollUpUsage } from '../../src/metering/roll-up-usage.js';
import { silent } from '../support/isolation-harness.js';
import { migrateDown, migrateUp } from '../support/migrate-down.js';
import { TEST_SERVICE_LOGIN_PASSWORD, TEST_ROLES } from '../support/roles.js';
import { seedTenant, type SeededTenant } from '../support/seed.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { TEST_REGISTRY } from '../support/modules.js';

let database: TestDatabase;
let tenant: SeededTenant;

beforeAll(async () => {
  database = await createTestDatabase();
  tenant = await seedTenant(database.admin, 'Watermark');
});

afterAll(async () => {
  await database.drop();
});

async function hourCount(metric: string): Promise<number | undefined> {
  const { rows } = await database.admin.query(
    "SELECT sum(event_count)::int AS n FROM usage_rollups WHERE tenant_id = $1 AND metric = $2 AND granularity = 'hour' AND bucket_start > now() - interval '1 day'",
    [tenant.tenantId, metric],
  );
  return rows[0]?.n;
}

describe('migration 0006 (rollups claim queued keys)', () => {
  it('queues exactly the events above the old watermark', async () => {
    const undone = await migrateDown(database.url, '0006_usage_rollup_queue');
    const admin = database.admin;
    const insertEvent = (key: string, metric: string) =>
      admin.query('INSERT INTO usage_events (tenant_id, idempotency_key, metric, quantity, occurred_at) VALUES ($1, $2, $3, 1, now())', [
        tenant.tenantId,
        key,
        metric,
      ]);
    // Rolled up by the old job: below the watermark, with its buckets written.
    await insertEvent('rolled-up', 'tasks');
    await admin.query('UPDATE usage_rollup_state SET watermark = pg_current_xact_id()');
    await admin.query(
      `INSERT INTO usage_rollups (tenant_id, metric, granularity, bucket_start, event_count, quantity_sum, quantity_max)
       SELECT $1, 'tasks', g, date_trunc(g, now(), 'UTC'), 1, 1, 1 FROM unnest(ARRAY['hour', 'day']) AS g`,
      [tenant.tenantId],
    );
    // Committed after the old job's last run: not rolled up yet.
    await insertEvent('waiting', 'api_calls');

    expect(await migrateUp(database.url)).toEqual(undone);
    const { rows } = await admin.query('SELECT idempotency_key FROM usage_rollup_queue');
    expect(rows).toEqual([{ idempotency_key: 'waiting' }]);

    const pool = createPool(asRole(database.url, TEST_ROLES.serviceLogin, TEST_SERVICE_LOGIN_PASSWORD), 2, silent);
    try {
      const run = await rollUpUsage(new Database({ modules: TEST_REGISTRY, pool, roles: TEST_ROLES, logger: silent }));
      expect(run).toMatchObject({ claimed: 1, events: 1, pending: 0 });
    } finally {
      await pool.end();
    }
    expect(await hourCount('tasks')).toBe(1);
    expect(await hourCount('api_calls')).toBe(1);
  });
});
