// Migration 0022 on rollups stored before it: the day buckets of metrics that are not counted
// distinct go (their hours stay, and the usage report adds them up); a distinct count's days
// stay. Reverted, it adds the days up from their hours again, exactly as they were written.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDown, migrateUp } from '../support/migrate-down.js';
import { seedTenant, type SeededTenant } from '../support/seed.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

let database: TestDatabase;
let tenant: SeededTenant;

beforeAll(async () => {
  database = await createTestDatabase();
  tenant = await seedTenant(database.admin, 'Days');
  await database.admin.query(`INSERT INTO usage_metrics (key, unit, aggregation, unique_by) VALUES ('days_active_users', 'users', 'unique_count', 'user')`);
});

afterAll(async () => {
  await database.drop();
});

interface Bucket {
  metric: string;
  granularity: string;
  bucket_start: string;
  event_count: number;
  quantity_sum: string;
  quantity_max: string;
  unique_count: number | null;
}

async function buckets(): Promise<Bucket[]> {
  const { rows } = await database.admin.query<Bucket>(
    `SELECT metric, granularity, to_char(bucket_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24') AS bucket_start,
            event_count::int, quantity_sum::text, quantity_max::text, unique_count::int
       FROM usage_rollups WHERE tenant_id = $1 AND bucket_start >= '2026-11-01' ORDER BY metric, granularity, bucket_start`,
    [tenant.tenantId],
  );
  return rows;
}

/** A bucket row as the rollup job and the meter wrote them before the migration. */
function insert(metric: string, granularity: 'hour' | 'day', start: string, count: number, sum: number, max: number, unique: number | null = null) {
  return database.admin.query(
    `INSERT INTO usage_rollups (tenant_id, metric, granularity, bucket_start, event_count, quantity_sum, quantity_max, unique_count)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [tenant.tenantId, metric, granularity, start, count, sum, max, unique],
  );
}

describe('migration 0022 (a day is the sum of its hours)', () => {
  it('drops the days that are sums of their hours, keeps distinct counts, and reverts to what was written', async () => {
    const undone = await migrateDown(database.url, '0022_days_are_summed_from_hours');
    await insert('api_calls', 'hour', '2026-11-20T09:00:00Z', 2, 30, 20);
    await insert('api_calls', 'hour', '2026-11-20T17:00:00Z', 1, 5, 5);
    await insert('api_calls', 'day', '2026-11-20T00:00:00Z', 3, 35, 20);
    await insert('storage_bytes', 'hour', '2026-11-21T03:00:00Z', 1, 700, 700);
    await insert('storage_bytes', 'day', '2026-11-21T00:00:00Z', 1, 700, 700);
    await insert('days_active_users', 'hour', '2026-11-20T09:00:00Z', 4, 4, 1, 3);
    await insert('days_active_users', 'hour', '2026-11-20T17:00:00Z', 2, 2, 1, 2);
    await insert('days_active_users', 'day', '2026-11-20T00:00:00Z', 6, 6, 1, 4);
    const before = await buckets();

    expect(await migrateUp(database.url)).toEqual(undone);
    const after = await buckets();
    expect(after.filter((bucket) => bucket.granularity === 'day')).toEqual([
      { metric: 'days_active_users', granularity: 'day', bucket_start: '2026-11-20 00', event_count: 6, quantity_sum: '6', quantity_max: '1', unique_count: 4 },
    ]);
    expect(after.filter((bucket) => bucket.granularity === 'hour')).toEqual(before.filter((bucket) => bucket.granularity === 'hour'));

    await migrateDown(database.url, '0022_days_are_summed_from_hours');
    expect(await buckets()).toEqual(before);
    await migrateUp(database.url);
  });
});
