// A tenant's usage over one billing period, per metric, as billing prices it: from the hourly
// rollups (periods start on the hour, so whole buckets tile them), aggregated as each metric
// says. Reading rollups, not raw events, keeps an invoice's cost independent of how many events
// the period holds (bench/invoice.bench.ts measures it with a million).

import { sql } from 'kysely';
import type { Tx } from '../db/database.js';
import type { Metric } from '../metering/metric-catalog.js';

/**
 * Totals for the metrics given, in [start, end); a metric counted by distinct values is left
 * out. The tenant is named because billing runs read it in a service unit (no tenant scope).
 */
export async function periodUsage(tx: Tx, tenantId: string, metrics: Iterable<Metric>, start: Date, end: Date): Promise<Map<string, number>> {
  const rows = await tx
    .selectFrom('usage_rollups')
    .select([
      'metric',
      sql<string>`sum(event_count)`.as('count'),
      sql<string>`sum(quantity_sum)`.as('sum'),
      sql<string>`max(quantity_max)`.as('max'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('granularity', '=', 'hour')
    .where('bucket_start', '>=', start)
    .where('bucket_start', '<', end)
    .groupBy('metric')
    .execute();
  const byMetric = new Map(rows.map((row) => [row.metric, row]));
  const usage = new Map<string, number>();
  for (const metric of metrics) {
    if (metric.aggregation === 'unique_count') continue;
    const row = byMetric.get(metric.key);
    usage.set(metric.key, row ? Number(row[metric.aggregation]) : 0);
  }
  return usage;
}
