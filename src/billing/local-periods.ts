// Billing's periods, with the cuts a moved anchor leaves. Metering counts months from the
// tenant's anchor as it is now (tenants.billing_anchor); billing must also invoice the periods
// before each move as they were. Every move is kept on the account (billing_accounts.anchor_cuts,
// billing 0007) with the instant it cut the periods at, so the period containing any instant is
// the anchor in force then, clipped by the cuts around it: the period running at a cut ends there
// (a short one, invoiced on its own) and the next begins there. Each instant is in exactly one
// period, so usage on either side of a cut is billed once.

import { billingPeriod, type BillingPeriod } from '../metering/billing-period.js';
import type { BillingTx, StoredAnchorCut } from './billing-tables.js';

export interface AnchorCut {
  readonly fromAnchor: Date;
  readonly toAnchor: Date;
  readonly cutAt: Date;
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

export function anchorCutsOf(stored: readonly StoredAnchorCut[] | null | undefined): AnchorCut[] {
  return (stored ?? [])
    .map((cut) => ({ fromAnchor: new Date(cut.from_anchor), toAnchor: new Date(cut.to_anchor), cutAt: new Date(cut.cut_at) }))
    .sort((a, b) => a.cutAt.getTime() - b.cutAt.getTime());
}

/**
 * @example
 *   // Counted from Jan 5 10:00, moved to a subscription anchored Jan 20 14:00 (cut there):
 *   const periods = localPeriods(jan20h14, [{ fromAnchor: jan5h10, toAnchor: jan20h14, cutAt: jan20h14 }]);
 *   periods.at(jan10) // { start: Jan 5 10:00, end: Jan 20 14:00, month: Jan 5 10:00 - Feb 5 10:00 }
 *   periods.at(jan25) // { start: Jan 20 14:00, end: Feb 20 14:00, month: the same }
 */
export function localPeriods(anchorNow: Date, cuts: readonly AnchorCut[]): LocalPeriods {
  return {
    firstAnchor: cuts[0]?.fromAnchor ?? anchorNow,
    at(at: Date): LocalPeriod {
      const next = cuts.findIndex((cut) => cut.cutAt > at);
      const before = next === -1 ? cuts.at(-1) : cuts[next - 1];
      const after = next === -1 ? undefined : cuts[next];
      const anchor = before?.toAnchor ?? after?.fromAnchor ?? anchorNow;
      const month = billingPeriod(anchor, at);
      const start = before && before.cutAt > month.start ? before.cutAt : month.start;
      const end = after && after.cutAt < month.end ? after.cutAt : month.end;
      return { start, end, month };
    },
  };
}

/** One tenant's periods, read in `tx`. */
export async function readLocalPeriods(tx: BillingTx, tenantId: string): Promise<LocalPeriods> {
  const row = await tx
    .selectFrom('tenants')
    .leftJoin('billing_accounts', 'billing_accounts.tenant_id', 'tenants.id')
    .select(['tenants.billing_anchor', 'billing_accounts.anchor_cuts'])
    .where('tenants.id', '=', tenantId)
    .executeTakeFirstOrThrow();
  return localPeriods(row.billing_anchor, anchorCutsOf(row.anchor_cuts));
}
