// Billing's periods, with the cuts a moved anchor leaves. Metering counts months from the
// tenant's anchor as it is now (tenants.billing_anchor); billing must also invoice the periods
// before each move as they were. Every move is recorded (billing_anchor_changes, billing 0007)
// with the instant it cut the periods at, so the period containing any instant is the anchor in
// force then, clipped by the cuts around it: the period running at a cut ends there (a short one,
// invoiced on its own) and the next begins there. Each instant is in exactly one period, so usage
// on either side of a cut is billed once.

import { billingPeriod, type BillingPeriod } from '../metering/billing-period.js';
import type { BillingTx } from './billing-tables.js';

export interface AnchorChange {
  readonly from_anchor: Date;
  readonly to_anchor: Date;
  readonly cut_at: Date;
}

export interface LocalPeriod extends BillingPeriod {
  /** The whole month of the anchor in force; wider than the period when a cut clipped it. */
  readonly month: BillingPeriod;
}

export interface LocalPeriods {
  /** The anchor the tenant's periods were first counted from. */
  readonly firstAnchor: Date;
  /** The period containing `at`. */
  at(at: Date): LocalPeriod;
}

/**
 * @example
 *   // Counted from Jan 5 10:00, moved to a subscription anchored Jan 20 14:00 (cut there):
 *   const periods = localPeriods(jan20h14, [{ from_anchor: jan5h10, to_anchor: jan20h14, cut_at: jan20h14 }]);
 *   periods.at(jan10) // { start: Jan 5 10:00, end: Jan 20 14:00, month: Jan 5 10:00 - Feb 5 10:00 }
 *   periods.at(jan25) // { start: Jan 20 14:00, end: Feb 20 14:00, month: the same }
 */
export function localPeriods(anchorNow: Date, changes: readonly AnchorChange[]): LocalPeriods {
  const cuts = [...changes].sort((a, b) => a.cut_at.getTime() - b.cut_at.getTime());
  return {
    firstAnchor: cuts[0]?.from_anchor ?? anchorNow,
    at(at: Date): LocalPeriod {
      const next = cuts.findIndex((cut) => cut.cut_at > at);
      const before = next === -1 ? cuts.at(-1) : cuts[next - 1];
      const after = next === -1 ? undefined : cuts[next];
      const anchor = before?.to_anchor ?? after?.from_anchor ?? anchorNow;
      const month = billingPeriod(anchor, at);
      const start = before && before.cut_at > month.start ? before.cut_at : month.start;
      const end = after && after.cut_at < month.end ? after.cut_at : month.end;
      return { start, end, month };
    },
  };
}

/** The tenant's anchor changes, oldest cut first, in a service unit. */
export function anchorChanges(tx: BillingTx, tenantIds: readonly string[]) {
  return tx
    .selectFrom('billing_anchor_changes')
    .select(['tenant_id', 'from_anchor', 'to_anchor', 'cut_at'])
    .where('tenant_id', 'in', tenantIds)
    .where('deleted_at', 'is', null)
    .orderBy('cut_at')
    .execute();
}

/** One tenant's periods, read in `tx`. */
export async function readLocalPeriods(tx: BillingTx, tenantId: string): Promise<LocalPeriods> {
  const tenant = await tx.selectFrom('tenants').select('billing_anchor').where('id', '=', tenantId).executeTakeFirstOrThrow();
  return localPeriods(tenant.billing_anchor, await anchorChanges(tx, [tenantId]));
}
