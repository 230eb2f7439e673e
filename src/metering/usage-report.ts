// Reads a tenant's usage from the rollups: per metric, the total over a range, the plan's
// limit and a series of hourly or daily buckets. Totals come from hourly buckets (billing
// periods start on the hour, so they tile it); distinct counts from the raw events. A day is
// the sum of its hours, except for a metric counted distinct, whose days are stored (a
// distinct count cannot be added up).

import { sql } from 'kysely';
import { startOfDay, startOfHour, type Clock } from '../clock.js';
import type { Database, Tx } from '../db/database.js';
import type { Aggregation } from '../db/tables.js';
import type { Actor } from '../tenancy/actor.js';
import { billingAnchor, billingPeriod } from './billing-period.js';
import type { Metric, MetricCatalog } from './metric-catalog.js';
import type { PlanLimits } from './plan-limits.js';

export type Granularity = 'hour' | 'day';

export interface MetricUsage {
  readonly metric: string;
  readonly unit: string;
  readonly aggregation: Aggregation;
  readonly total: number;
  readonly limit: number | null;
  /** total / limit, in percent; null without a limit. */
  readonly percentUsed: number | null;
  readonly series: Array<{ start: string; value: number }>;
}

export interface UsageReport {
  readonly from: string;
  readonly to: string;
  readonly granularity: Granularity;
  readonly metrics: MetricUsage[];
}

/** A bucket of a series, with its metric's totals over the report's range (the same on every row of the metric). */
interface SeriesRow {
  metric: string;
  bucket_start: Date;
  event_count: string;
  quantity_sum: string;
  quantity_max: string;
  unique_count: string | null;
  total_count: string | null;
  total_sum: string | null;
  total_max: string | null;
}

/** A bucket's aggregates, or a total's (null where no hour of the range had any). */
type Aggregates = { readonly [K in 'event_count' | 'quantity_sum' | 'quantity_max' | 'unique_count']: string | null };

function valueOf(aggregation: Aggregation, row: Aggregates): number {
  switch (aggregation) {
    case 'count':
      return Number(row.event_count ?? 0);
    case 'sum':
      return Number(row.quantity_sum ?? 0);
    case 'max':
      return Number(row.quantity_max ?? 0);
    case 'unique_count':
      return Number(row.unique_count ?? 0);
  }
}

export class UsageReader {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly catalog: MetricCatalog,
    private readonly limits: PlanLimits,
  ) {}

  /** The open billing period, with a daily series. */
  async current(actor: Actor): Promise<UsageReport> {
    const limits = await this.#limits(actor.plan);
    return this.db.tenant(async (tx) => {
      const period = billingPeriod(await billingAnchor(tx, actor.tenantId), this.clock.now());
      return this.#report(tx, limits, period.start, period.end, 'day');
    });
  }

  /** Any range; `from` is taken back to the start of its hour. */
  async history(actor: Actor, from: Date, to: Date, granularity: Granularity): Promise<UsageReport> {
    const start = startOfHour(from);
    const limits = await this.#limits(actor.plan);
    return this.db.tenant((tx) => this.#report(tx, limits, start, to, granularity));
  }

  /** The catalog and the plan's limits, read before the unit of work opens (caches may reload). */
  async #limits(planKey: string): Promise<Map<Metric, number | null>> {
    const limits = new Map<Metric, number | null>();
    for (const metric of (await this.catalog.all()).values()) limits.set(metric, await this.limits.limitFor(planKey, metric.key));
    return limits;
  }

  async #report(tx: Tx, limits: Map<Metric, number | null>, from: Date, to: Date, granularity: Granularity): Promise<UsageReport> {
    const metrics = [...limits.keys()];
    const distinct = metrics.filter((metric) => metric.aggregation === 'unique_count').map((metric) => metric.key);
    const series = granularity === 'day' ? await days(tx, distinct, from, to) : await hours(tx, from, to);
    const uniques = await distinctCounts(tx, distinct, from, to);
    const report: MetricUsage[] = [];
    for (const metric of metrics) {
      const buckets = series.filter((row) => row.metric === metric.key);
      // Every bucket of a metric carries its totals; a metric with none used nothing.
      const totals = buckets[0];
      let total =
        metric.aggregation === 'unique_count'
          ? (uniques.get(metric.key) ?? 0)
          : totals
            ? valueOf(metric.aggregation, { event_count: totals.total_count, quantity_sum: totals.total_sum, quantity_max: totals.total_max, unique_count: null })
            : 0;
      if (!metric.resets) total = Math.max(total, await levelBefore(tx, metric.key, from));
      const limit = limits.get(metric) ?? null;
      report.push({
        metric: metric.key,
        unit: metric.unit,
        aggregation: metric.aggregation,
        total,
        limit,
        percentUsed: limit === null ? null : limit === 0 ? (total > 0 ? 100 : 0) : Math.round((total / limit) * 10_000) / 100,
        series: buckets.map((row) => ({ start: row.bucket_start.toISOString(), value: valueOf(metric.aggregation, row) })),
      });
    }
    return { from: from.toISOString(), to: to.toISOString(), granularity, metrics: report };
  }
}

/**
 * Hourly buckets in [from, to), oldest first, each with its metric's totals over them (from
 * the same scan: a window over the rows read).
 */
async function hours(tx: Tx, from: Date, to: Date): Promise<SeriesRow[]> {
  return tx
    .selectFrom('usage_rollups')
    .select([
      'metric',
      'bucket_start',
      'event_count',
      'quantity_sum',
      'quantity_max',
      'unique_count',
      sql<string>`sum(event_count) OVER (PARTITION BY metric)`.as('total_count'),
      sql<string>`sum(quantity_sum) OVER (PARTITION BY metric)`.as('total_sum'),
      sql<string>`max(quantity_max) OVER (PARTITION BY metric)`.as('total_max'),
    ])
    .where('granularity', '=', 'hour')
    .where('bucket_start', '>=', from)
    .where('bucket_start', '<', to)
    .orderBy('bucket_start')
    .execute();
}

/**
 * Daily buckets of the UTC days [from, to) touches, oldest first: the stored day of a metric
 * counted distinct (`distinct`), the sum of its stored hours for any other metric. Each row
 * carries its metric's totals over the hours in [from, to) (the first day may begin before
 * `from`), from the same scan.
 */
async function days(tx: Tx, distinct: readonly string[], from: Date, to: Date): Promise<SeriesRow[]> {
  // date_bin from a UTC midnight, not date_trunc(…, 'UTC'): the same day without a time zone
  // lookup per row, which was a third of the scan of a month's hours. Written out, not a
  // parameter: GROUP BY and the select list must be the same expression.
  const day = sql<Date>`date_bin('1 day', bucket_start, timestamptz '2000-01-01 00:00:00+00')`;
  const counted = sql<boolean>`granularity = 'hour' AND bucket_start >= ${from}`;
  return tx
    .selectFrom('usage_rollups')
    .select([
      'metric',
      day.as('bucket_start'),
      sql<string>`sum(event_count)`.as('event_count'),
      sql<string>`sum(quantity_sum)`.as('quantity_sum'),
      sql<string>`max(quantity_max)`.as('quantity_max'),
      sql<string | null>`max(unique_count)`.as('unique_count'),
      sql<string | null>`sum(sum(event_count) FILTER (WHERE ${counted})) OVER (PARTITION BY metric)`.as('total_count'),
      sql<string | null>`sum(sum(quantity_sum) FILTER (WHERE ${counted})) OVER (PARTITION BY metric)`.as('total_sum'),
      sql<string | null>`max(max(quantity_max) FILTER (WHERE ${counted})) OVER (PARTITION BY metric)`.as('total_max'),
    ])
    .where((eb) =>
      distinct.length === 0
        ? eb('granularity', '=', 'hour')
        : eb.or([
            eb.and([eb('granularity', '=', 'hour'), eb('metric', 'not in', distinct)]),
            eb.and([eb('granularity', '=', 'day'), eb('metric', 'in', distinct)]),
          ]),
    )
    .where('bucket_start', '>=', startOfDay(from))
    .where('bucket_start', '<', to)
    .groupBy(['metric', day])
    .orderBy(day)
    .execute();
}

/** Distinct values over [from, to) of the metrics counted distinct (`keys`), from the raw events. */
async function distinctCounts(tx: Tx, keys: readonly string[], from: Date, to: Date): Promise<Map<string, number>> {
  if (keys.length === 0) return new Map();
  const rows = await tx
    .selectFrom('usage_events')
    .select(['metric', sql<string>`count(DISTINCT unique_value)`.as('n')])
    .where('metric', 'in', keys)
    .where('occurred_at', '>=', from)
    .where('occurred_at', '<', to)
    .groupBy('metric')
    .execute();
  return new Map(rows.map((row) => [row.metric, Number(row.n)]));
}

/** A level (seats) carries over: its last value before the range counts in the range. */
async function levelBefore(tx: Tx, metric: string, from: Date): Promise<number> {
  const row = await tx
    .selectFrom('usage_rollups')
    .select('quantity_max')
    .where('granularity', '=', 'hour')
    .where('metric', '=', metric)
    .where('bucket_start', '<', from)
    .orderBy('bucket_start', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? Number(row.quantity_max) : 0;
}
