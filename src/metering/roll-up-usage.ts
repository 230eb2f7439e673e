// Maintains hourly rollups (and daily ones for distinct counts) from raw events, incrementally
// and exactly once. Every stored event queues its key in the same transaction (a trigger on
// usage_events); a run deletes the queued keys it can see and adds their events into the
// buckets in one statement of one transaction. An event still uncommitted is invisible, so a
// later run takes it: no event is skipped or counted twice, and nothing running elsewhere on
// the server holds rollups back. Late events land in the bucket of their occurred_at.
// Cross-tenant, so it runs as the audited service role.

import { sql } from 'kysely';
import type { Database, Tx } from '../db/database.js';

export const ROLLUP_REASON = 'roll up usage events';

/** Events one run claims at most: bounds its transaction; the job runs again while it is full. */
export const ROLLUP_BATCH = 50_000;

export interface RollupResult {
  /** Queued keys this run took (a full batch means more may be waiting). */
  readonly claimed: number;
  /** Events added into buckets by this run (a key whose event was purged adds none). */
  readonly events: number;
  /** Bucket rows written (hours, and days of distinct counts). */
  readonly buckets: number;
  /** Events still queued after this run and visible to it (more than a batch, or committed meanwhile). */
  readonly pending: number;
  /**
   * Seconds behind, as of the end of the run: the age of the oldest event still queued, 0
   * when none is. Undefined when another run held the rollup and this one did nothing.
   */
  readonly lagSeconds: number | undefined;
}

/**
 * Claims up to `batch` queued keys, in no particular order (each is taken within a few runs;
 * an index to order them would cost every ingest), and adds their events' counts, sums and
 * maxima into their hour buckets, and into their day buckets for a metric counted distinct
 * (any other metric's day is the sum of its hours, usage-report.ts). Distinct counts cannot be
 * added up: each bucket the claimed events touch is recounted from the raw events visible to
 * this statement. All of it is one statement, so the claimed keys and the events read share
 * one snapshot.
 */
async function claimAndAdd(tx: Tx, batch: number): Promise<{ claimed: number; events: number; buckets: number }> {
  const result = await sql<{ claimed: string; events: string; buckets: string }>`
    WITH claimed AS (
      DELETE FROM usage_rollup_queue q
      WHERE (q.tenant_id, q.idempotency_key) IN (
        SELECT tenant_id, idempotency_key FROM usage_rollup_queue LIMIT ${batch} FOR UPDATE SKIP LOCKED)
      RETURNING q.tenant_id, q.idempotency_key
    ), claimed_events AS (
      SELECT e.tenant_id, e.metric, e.occurred_at, e.quantity
      FROM usage_events e JOIN claimed c ON c.tenant_id = e.tenant_id AND c.idempotency_key = e.idempotency_key
    ), fresh AS (
      SELECT e.tenant_id, e.metric, g.granularity, date_trunc(g.granularity, e.occurred_at, 'UTC') AS bucket_start,
             count(*) AS event_count, sum(e.quantity) AS quantity_sum, max(e.quantity) AS quantity_max
      FROM claimed_events e CROSS JOIN (VALUES ('hour'), ('day')) AS g (granularity)
      -- A day is kept only where it is not the sum of its hours: for a distinct count.
      WHERE g.granularity = 'hour' OR EXISTS (SELECT FROM usage_metrics d WHERE d.key = e.metric AND d.aggregation = 'unique_count')
      GROUP BY 1, 2, 3, 4
    ), written AS (
      INSERT INTO usage_rollups AS r
        (tenant_id, metric, granularity, bucket_start, event_count, quantity_sum, quantity_max, unique_count)
      SELECT f.tenant_id, f.metric, f.granularity, f.bucket_start, f.event_count, f.quantity_sum, f.quantity_max,
             CASE WHEN m.aggregation = 'unique_count' THEN (
               SELECT count(DISTINCT u.unique_value) FROM usage_events u
               WHERE u.tenant_id = f.tenant_id AND u.metric = f.metric
                 AND u.occurred_at >= f.bucket_start
                 AND u.occurred_at < f.bucket_start + CASE f.granularity WHEN 'hour' THEN interval '1 hour' ELSE interval '24 hours' END
             ) END
      FROM fresh f LEFT JOIN usage_metrics m ON m.key = f.metric
      -- One order for the row locks of every run.
      ORDER BY f.tenant_id, f.metric, f.granularity, f.bucket_start
      ON CONFLICT (tenant_id, metric, granularity, bucket_start) DO UPDATE SET
        event_count = r.event_count + excluded.event_count,
        quantity_sum = r.quantity_sum + excluded.quantity_sum,
        quantity_max = greatest(r.quantity_max, excluded.quantity_max),
        unique_count = excluded.unique_count,
        updated_at = now()
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM claimed) AS claimed, (SELECT count(*) FROM claimed_events) AS events,
           (SELECT count(*) FROM written) AS buckets`.execute(tx);
  const row = result.rows[0]!;
  return { claimed: Number(row.claimed), events: Number(row.events), buckets: Number(row.buckets) };
}

/** What is still queued, as this transaction sees it now (its own claims gone, uncommitted ones invisible). */
async function backlog(tx: Tx): Promise<{ pending: number; lagSeconds: number }> {
  const result = await sql<{ pending: string; lag: number | null }>`
    SELECT count(*) AS pending, extract(epoch FROM statement_timestamp() - min(queued_at))::float8 AS lag
    FROM usage_rollup_queue`.execute(tx);
  const row = result.rows[0]!;
  return { pending: Number(row.pending), lagSeconds: Math.max(0, row.lag ?? 0) };
}

/**
 * One run: claims at most `batch` events. Safe to start on several instances at once: a run
 * that finds another one in progress returns at once with `lagSeconds` undefined.
 *
 * @example
 *   const { events, pending } = await rollUpUsage(db);
 */
export async function rollUpUsage(db: Database, batch: number = ROLLUP_BATCH): Promise<RollupResult> {
  return db.service(ROLLUP_REASON, async (tx) => {
    // Runs take turns on the state row; one that would wait leaves instead of holding a connection.
    const turn = await sql`SELECT id FROM usage_rollup_state FOR UPDATE SKIP LOCKED`.execute(tx);
    if (turn.rows.length === 0) return { claimed: 0, events: 0, buckets: 0, pending: 0, lagSeconds: undefined };
    const added = await claimAndAdd(tx, batch);
    const left = await backlog(tx);
    await sql`UPDATE usage_rollup_state SET updated_at = now()`.execute(tx);
    return { ...added, ...left };
  });
}
