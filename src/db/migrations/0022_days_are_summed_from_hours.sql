-- Up Migration
-- A metric's day bucket is kept only where it cannot be added up from its hours: for a
-- distinct count. Any other metric's day (count, sum, max) is the sum of its hours, which the
-- usage report now reads instead. Writing both cost every API-call flush a second row update
-- per tenant (about half of the meter's PostgreSQL time, docs/benchmarks.md), and the rollup
-- job a second upsert per metric and tenant. Every day bucket ever written has its hours
-- beside it, written from the same events, so the day buckets of those metrics go and no
-- reading changes. As the table owner, which forced row-level security would otherwise limit
-- to no tenant; FORCE is lifted only inside this transaction.
ALTER TABLE usage_rollups NO FORCE ROW LEVEL SECURITY;
DELETE FROM usage_rollups r
 WHERE r.granularity = 'day'
   AND NOT EXISTS (SELECT FROM usage_metrics m WHERE m.key = r.metric AND m.aggregation = 'unique_count');
ALTER TABLE usage_rollups FORCE ROW LEVEL SECURITY;

-- Down Migration
-- The days again, added up from their hours: exactly what the rollup job and the meter wrote.
ALTER TABLE usage_rollups NO FORCE ROW LEVEL SECURITY;
INSERT INTO usage_rollups (tenant_id, metric, granularity, bucket_start, event_count, quantity_sum, quantity_max, deleted_at)
SELECT r.tenant_id, r.metric, 'day', date_trunc('day', r.bucket_start, 'UTC'),
       sum(r.event_count), sum(r.quantity_sum), max(r.quantity_max), max(r.deleted_at)
  FROM usage_rollups r
 WHERE r.granularity = 'hour'
   AND NOT EXISTS (SELECT FROM usage_metrics m WHERE m.key = r.metric AND m.aggregation = 'unique_count')
 GROUP BY r.tenant_id, r.metric, date_trunc('day', r.bucket_start, 'UTC')
ON CONFLICT (tenant_id, metric, granularity, bucket_start) DO NOTHING;
ALTER TABLE usage_rollups FORCE ROW LEVEL SECURITY;
