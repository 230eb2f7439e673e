// The plans a tenant was on during a billing period. Every change of tenants.plan is recorded
// (billing_plan_changes) in the unit that makes it, so a closed period splits into segments,
// each on one plan, and the invoice bills each at its share of the period. The tenant's plan
// now, walked back through the changes made since, gives the plan at the period's end (the
// period-end job runs after the late-usage grace, so the plan may have moved again since).

import { newId } from '../../db/ids.js';
import type { BillingPeriod } from '../../metering/billing-period.js';
import type { BillingTx } from '../billing-tables.js';

export interface PlanSegment {
  readonly plan: string;
  readonly start: Date;
  /** Exclusive. */
  readonly end: Date;
}

export interface RecordedPlanChange {
  readonly from_plan: string;
  readonly to_plan: string;
  readonly changed_at: Date;
}

/** In the unit that changes tenants.plan. */
export async function recordPlanChange(tx: BillingTx, tenantId: string, from: string, to: string, at: Date): Promise<void> {
  await tx.insertInto('billing_plan_changes').values({ tenant_id: tenantId, id: newId(), from_plan: from, to_plan: to, changed_at: at }).execute();
}

/** The period's segments, read in a service unit. */
export async function planSegments(tx: BillingTx, tenantId: string, period: BillingPeriod, planNow: string): Promise<PlanSegment[]> {
  const changes = await tx
    .selectFrom('billing_plan_changes')
    .select(['from_plan', 'to_plan', 'changed_at'])
    .where('tenant_id', '=', tenantId)
    .where('changed_at', '>', period.start)
    .where('deleted_at', 'is', null)
    .orderBy('changed_at')
    .orderBy('created_at')
    .execute();
  return segmentsOf(period, planNow, changes);
}

/**
 * @example
 *   // On free, upgraded to pro a third of the way through the period, still on pro:
 *   segmentsOf({ start: d0, end: d30 }, 'pro', [{ from_plan: 'free', to_plan: 'pro', changed_at: d10 }])
 *   // [{ plan: 'free', start: d0, end: d10 }, { plan: 'pro', start: d10, end: d30 }]
 */
export function segmentsOf(period: BillingPeriod, planNow: string, changes: readonly RecordedPlanChange[]): PlanSegment[] {
  const sorted = [...changes].filter((change) => change.changed_at > period.start).sort((a, b) => a.changed_at.getTime() - b.changed_at.getTime());
  const after = sorted.filter((change) => change.changed_at >= period.end);
  const within = sorted.filter((change) => change.changed_at < period.end);
  // The plan at the period's end: what the first later change moved away from, else today's.
  let plan = after[0]?.from_plan ?? planNow;
  const segments: PlanSegment[] = [];
  let end = period.end;
  for (const change of [...within].reverse()) {
    segments.unshift({ plan, start: change.changed_at, end });
    end = change.changed_at;
    plan = change.from_plan;
  }
  segments.unshift({ plan, start: period.start, end });
  // Back and forth to the same plan is one stretch on it; an empty stretch is none.
  const merged: PlanSegment[] = [];
  for (const segment of segments) {
    if (segment.end <= segment.start) continue;
    const last = merged.at(-1);
    if (last && last.plan === segment.plan && last.end.getTime() === segment.start.getTime()) merged[merged.length - 1] = { ...last, end: segment.end };
    else merged.push(segment);
  }
  return merged;
}
