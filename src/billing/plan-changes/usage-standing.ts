// Where a tenant stands against a plan's limits, as a downgrade needs to know: its quota
// counters (what quotas enforce), per metric the new plan limits. A level (seats, agents) does
// not reset, so being above the new limit blocks the downgrade; a per-period metric (tasks)
// resets when the period ends, so being above it only delays the downgrade to then.
// Read in a service unit (billing's plan changes are written by the service role): every
// statement names the tenant.

import type { Tx } from '../../db/database.js';
import { NO_PERIOD_START, type BillingPeriod } from '../../metering/billing-period.js';
import type { Metric } from '../../metering/metric-catalog.js';
import type { Plan } from '../../plans/plan.js';
import { periodUsage } from '../period-usage.js';

export interface MetricOverLimit {
  readonly metric: string;
  readonly current: number;
  readonly limit: number;
  /** True for a metric that resets each billing period: being over only lasts until the period ends. */
  readonly resets: boolean;
}

/** The metrics whose current usage is above `plan`'s finite limit for them. */
export async function usageOverLimits(tx: Tx, tenantId: string, plan: Plan, period: BillingPeriod): Promise<MetricOverLimit[]> {
  const limited = Object.entries(plan.limits).filter((entry): entry is [string, number] => entry[1] !== null);
  if (limited.length === 0) return [];
  const metrics = await tx
    .selectFrom('usage_metrics')
    .selectAll()
    .where('key', 'in', limited.map(([metric]) => metric))
    .execute();
  const counters = await tx
    .selectFrom('usage_counters')
    .select(['metric', 'period_start', 'used'])
    .where('tenant_id', '=', tenantId)
    .where('period_start', 'in', [NO_PERIOD_START, period.start])
    .execute();
  // A per-period counter is kept only while the plan limits it; the rollups count regardless.
  const perPeriod: Metric[] = metrics
    .filter((row) => row.resets)
    .map((row) => ({ key: row.key, unit: row.unit, aggregation: row.aggregation, uniqueBy: row.unique_by, resets: true, enforcement: row.enforcement, description: row.description }));
  const rolledUp = await periodUsage(tx, tenantId, perPeriod, period.start, period.end);
  const over: MetricOverLimit[] = [];
  for (const metric of metrics) {
    const periodStart = metric.resets ? period.start : NO_PERIOD_START;
    const counted = counters.find((row) => row.metric === metric.key && row.period_start.getTime() === periodStart.getTime());
    const current = Math.max(Number(counted?.used ?? 0), metric.resets ? (rolledUp.get(metric.key) ?? 0) : 0);
    const limit = plan.limits[metric.key]!;
    if (current > limit) over.push({ metric: metric.key, current, limit, resets: metric.resets });
  }
  return over.sort((a, b) => a.metric.localeCompare(b.metric));
}
