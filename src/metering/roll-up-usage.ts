// Maintains hourly and daily rollups from raw events, incrementally. Each run takes the
// events whose inserting transaction ended below a new watermark (the oldest transaction
// still running), so every event is rolled up exactly once, late and out-of-order ones
// into the bucket of their occurred_at. Cross-tenant, so it runs as the audited service role.

import { sql } from 'kysely';
import type { Database, Tx } from '../db/database.js';

export const ROLLUP_REASON = 'roll up usage events';

export interface RollupResult {
  /** Transaction-id range processed: [from, to). Equal when there was nothing new. */
  readonly from: string;
  readonly to: string;
  readonly buckets: number;
}

/** Bucket of an event per granularity, in UTC. */
const GRANULARITIES = sql`(VALUES ('hour'), ('day')) AS g (granularity)`;

async function addCountsSumsAndMaxima(tx: Tx, from: string, to: string): Promise<number> {
  const result = await sql`
    INSERT INTO usage_rollups AS r (tenant_id, metric, granularity, bucket_start, event_count, quantity_sum, quantity_max)
    SELECT e.tenant_id, e.metric, g.granularity, date_trunc(g.granularity, e.occurred_at, 'UTC'),
           count(*), sum(e.quantity), max(e.quantity)
    FROM usage_events e CROSS JOIN ${GRANULARITIES}
    WHERE e.ingest_xid >= ${from}::xid8 AND e.ingest_xid < ${to}::xid8
    GROUP BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, metric, granularity, bucket_start) DO UPDATE SET
      event_count = r.event_count + excluded.event_count,
      quantity_sum = r.quantity_sum + excluded.quantity_sum,
      quantity_max = greatest(r.quantity_max, excluded.quantity_max),
      updated_at = now()`.execute(tx);
  return Number(result.numAffectedRows ?? 0);
}

/**
 * Distinct counts cannot be added up, so every bucket the new events touch is recounted
 * from the raw events (all of them, up to the watermark).
 */
async function recountUniques(tx: Tx, from: string, to: string): Promise<void> {
  await sql`
    WITH touched AS (
      SELECT DISTINCT e.tenant_id, e.metric, g.granularity, date_trunc(g.granularity, e.occurred_at, 'UTC') AS bucket_start
      FROM usage_events e
      JOIN usage_metrics m ON m.key = e.metric AND m.aggregation = 'unique_count'
      CROSS JOIN ${GRANULARITIES}
      WHERE e.ingest_xid >= ${from}::xid8 AND e.ingest_xid < ${to}::xid8
    )
    UPDATE usage_rollups r SET unique_count = (
      SELECT count(DISTINCT e.unique_value) FROM usage_events e
      WHERE e.tenant_id = r.tenant_id AND e.metric = r.metric
        AND e.occurred_at >= r.bucket_start
        AND e.occurred_at < r.bucket_start + CASE r.granularity WHEN 'hour' THEN interval '1 hour' ELSE interval '24 hours' END
        AND e.ingest_xid < ${to}::xid8
    )
    FROM touched t
    WHERE r.tenant_id = t.tenant_id AND r.metric = t.metric AND r.granularity = t.granularity AND r.bucket_start = t.bucket_start`.execute(tx);
}

/** One run; safe to start on several instances at once (they take turns on the watermark row). */
export async function rollUpUsage(db: Database): Promise<RollupResult> {
  return db.service(ROLLUP_REASON, async (tx) => {
    const state = await sql<{ watermark: string }>`SELECT watermark::text FROM usage_rollup_state FOR UPDATE`.execute(tx);
    const from = state.rows[0]!.watermark;
    const next = await sql<{ to: string }>`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS to`.execute(tx);
    const to = next.rows[0]!.to;
    if (BigInt(to) <= BigInt(from)) return { from, to: from, buckets: 0 };
    const buckets = await addCountsSumsAndMaxima(tx, from, to);
    await recountUniques(tx, from, to);
    await sql`UPDATE usage_rollup_state SET watermark = ${to}::xid8, updated_at = now()`.execute(tx);
    return { from, to, buckets };
  });
}
