// What the API-call meter's shared flush writes, in its one service-role transaction: the
// flush unit's id (so a unit sent again adds nothing), a share lock on the tenants still live,
// and their calls added straight into their hourly rollups (a day is the sum of its hours:
// usage-report.ts). No usage event: with traffic spread over thousands of tenants a flush
// carries about one call per tenant, and an event row, its rollup-queue entry and its later
// rollup cost PostgreSQL about 1.7 times the bucket updates alone (93 against 56 µs per tenant
// and flush while the flush still wrote an hour and a day bucket; 14-21 µs since it writes the
// hour only, docs/benchmarks.md), besides a usage_events row per call.

import { sql } from 'kysely';
import type { Tx } from '../db/database.js';
import { OWN_METRICS } from './metric-catalog.js';

/** How long a flush unit's id is kept: a unit is never sent again after a quarter of it. */
export const FLUSH_ID_RETENTION_MS = 4 * 24 * 3_600_000;

/** One tenant's calls that began in one hour, first seen at `at`. */
export interface TenantHourCalls {
  readonly tenantId: string;
  readonly at: Date;
  readonly calls: number;
}

/**
 * Stores the unit's id; false when it is stored already, by an earlier send of the same unit
 * whose commit succeeded but whose answer was lost: the unit's calls are in the rollups.
 */
export async function claimFlush(tx: Tx, id: string): Promise<boolean> {
  const claimed = await tx.insertInto('api_call_flushes').values({ id }).onConflict((conflict) => conflict.doNothing()).returning('id').execute();
  return claimed.length > 0;
}

/** Forgets flush ids older than the retention. */
export async function pruneFlushes(tx: Tx): Promise<void> {
  await tx
    .deleteFrom('api_call_flushes')
    .where('flushed_at', '<', sql<Date>`now() - make_interval(secs => ${FLUSH_ID_RETENTION_MS / 1000})`)
    .execute();
}

/**
 * The tenants that are not deleted, their rows shared until commit (in id order, so two
 * flushes never wait on each other crosswise): a concurrent soft delete waits for the flush,
 * or the flush sees the tenant deleted and stores nothing for it.
 */
export function lockLiveTenants(tx: Tx, tenantIds: readonly string[]) {
  return tx
    .selectFrom('tenants')
    .select(['id', 'billing_anchor'])
    .where('id', 'in', tenantIds)
    .where('deleted_at', 'is', null)
    .orderBy('id')
    .forShare()
    .execute();
}

/**
 * Adds the calls into each tenant's `api_calls` bucket of the hour of `at`, as the rollup job
 * adds events: one event per entry (event_count), its calls summed (quantity_sum) and the
 * largest entry kept (quantity_max). No day bucket: a sum's day is the sum of its hours, and
 * writing both cost a second row update per tenant and flush. One statement; the bucket rows
 * are locked in the rollup job's order, so the two never deadlock.
 */
export async function addCallsToRollups(tx: Tx, entries: readonly TenantHourCalls[]): Promise<void> {
  if (entries.length === 0) return;
  await sql`
    INSERT INTO usage_rollups AS r (tenant_id, metric, granularity, bucket_start, event_count, quantity_sum, quantity_max)
    SELECT c.tenant_id, ${OWN_METRICS.apiCalls}::text, 'hour', date_trunc('hour', c.at, 'UTC'), count(*), sum(c.calls), max(c.calls)
      FROM unnest(${entries.map((entry) => entry.tenantId)}::uuid[], ${entries.map((entry) => entry.at.toISOString())}::timestamptz[],
                  ${entries.map((entry) => entry.calls)}::bigint[]) AS c (tenant_id, at, calls)
     GROUP BY 1, 4
     ORDER BY 1, 4
    ON CONFLICT (tenant_id, metric, granularity, bucket_start) DO UPDATE SET
      event_count = r.event_count + excluded.event_count,
      quantity_sum = r.quantity_sum + excluded.quantity_sum,
      quantity_max = greatest(r.quantity_max, excluded.quantity_max),
      updated_at = now()`.execute(tx);
}
