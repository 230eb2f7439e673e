// With Stripe, the tenant's billing periods follow the subscription's cycle. A subscription
// opened at an upgrade, a Checkout or by provisioning has Stripe's own billing_cycle_anchor;
// tenants.billing_anchor moves to it when customer.subscription.created / updated says so, and
// the local period running then is cut where Stripe's current period began: it ends there and is
// invoiced on its own (its usage so far, its share of the plan's price), and the next local
// period is Stripe's. Metering (quotas, GET /v1/usage) reads the moved anchor, so its periods
// turn with billing's.
//
// Never backwards: Stripe only moves an anchor forward in time (a reset is "now", a trial's end
// is later), so an event naming an anchor no later than the tenant's is an older word and moves
// nothing; a cut is never placed before the latest cut or inside a period already invoiced. Only
// a running subscription moves it; the one way back is undoing the move of a subscription that
// expired incomplete (it never had a cycle), while the period it cut short is not invoiced.
// Events older than the last one applied never get here (stale), and a redelivery is a
// duplicate, so each move happens once.

import { unsafeRecordAuditForTenant } from '../../audit/record-audit.js';
import { platformTx } from '../../db/database.js';
import { billingPeriod } from '../../metering/billing-period.js';
import type { SystemActor } from '../../tenancy/actor.js';
import type { BillingTx, StoredAnchorCut } from '../billing-tables.js';
import { anchorCutsOf, localPeriods } from '../local-periods.js';
import { HOUR_MS } from '../../clock.js';

/**
 * The states of a subscription whose cycle is running, so whose anchor the periods follow. An
 * `incomplete` one (its first payment not made yet) has no cycle: it becomes `active` when paid
 * (then it moves the anchor) or `incomplete_expired` after 23 hours (then it never existed).
 */
export const CYCLING_SUBSCRIPTION_STATUSES: ReadonlySet<unknown> = new Set(['active', 'trialing', 'past_due']);

/** The subscription's anchor: its billing_cycle_anchor, else the start of its current period. */
export function subscriptionAnchor(subscription: Record<string, unknown>): Date | undefined {
  for (const value of [subscription.billing_cycle_anchor, subscription.current_period_start]) {
    if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return new Date(value * 1000);
  }
  return undefined;
}

/**
 * Moves the tenant's anchor to the subscription's, in `tx` (the webhook's unit, holding the
 * account's lock), cutting the running local period at Stripe's current period start (`at`: the
 * event's `created`). Answers whether it moved.
 */
export async function followSubscriptionAnchor(
  tx: BillingTx,
  tenantId: string,
  subscriptionRef: string,
  subscription: Record<string, unknown>,
  at: Date,
  who: SystemActor,
): Promise<boolean> {
  const anchor = subscriptionAnchor(subscription);
  if (!anchor) return false;
  const current = await lockedAnchor(tx, tenantId);
  // Periods start on the hour: an anchor in the same hour gives the same periods.
  if (hourOf(anchor) <= hourOf(current)) return false;
  const { cuts, invoicedUntil } = await settledHistory(tx, tenantId);
  const latestCut = cuts.at(-1);
  // Where Stripe's current period began, unless that is in what is settled already.
  let cut = billingPeriod(anchor, at).start;
  for (const floor of [latestCut && new Date(latestCut.cut_at), invoicedUntil]) if (floor && floor > cut) cut = floor;
  const moved: StoredAnchorCut = {
    from_anchor: current.toISOString(),
    to_anchor: anchor.toISOString(),
    cut_at: cut.toISOString(),
    subscription_ref: subscriptionRef,
    event_created_at: at.toISOString(),
  };
  // Moved again before a period began under the last move: the same cut, the newer anchor.
  const kept = latestCut && new Date(latestCut.cut_at).getTime() === cut.getTime() ? [...cuts.slice(0, -1), { ...moved, from_anchor: latestCut.from_anchor }] : [...cuts, moved];
  await tx.updateTable('billing_accounts').set({ anchor_cuts: JSON.stringify(kept) }).where('tenant_id', '=', tenantId).execute();
  await tx.updateTable('tenants').set({ billing_anchor: anchor }).where('id', '=', tenantId).execute();
  // A downgrade waiting for "the period's end" was told to Stripe as its period's end: it now
  // waits for the end of the period that follows the cut, as Stripe's does.
  await retimeWaitingDowngrade(tx, tenantId, cut, billingPeriod(anchor, at < cut ? cut : at).end);
  await unsafeRecordAuditForTenant(platformTx(tx), tenantId, who, {
    action: 'billing.anchor_moved',
    target: 'billing_anchor',
    before: { billing_anchor: current.toISOString() },
    after: { billing_anchor: anchor.toISOString(), cut_at: cut.toISOString(), subscription: subscriptionRef },
  });
  return true;
}

/** The tenant's anchor, its row locked: moves and undos of one tenant take turns. */
async function lockedAnchor(tx: BillingTx, tenantId: string): Promise<Date> {
  const tenant = await tx.selectFrom('tenants').select('billing_anchor').where('id', '=', tenantId).forUpdate().executeTakeFirstOrThrow();
  return tenant.billing_anchor;
}

/** What a move may not reach back into: the cuts made so far, and where the issued invoices end. */
async function settledHistory(tx: BillingTx, tenantId: string): Promise<{ cuts: StoredAnchorCut[]; invoicedUntil: Date | undefined }> {
  const [account, latestInvoice] = await Promise.all([
    tx.selectFrom('billing_accounts').select('anchor_cuts').where('tenant_id', '=', tenantId).executeTakeFirstOrThrow(),
    tx.selectFrom('billing_invoices').select((eb) => eb.fn.max('period_end').as('at')).where('tenant_id', '=', tenantId).where('deleted_at', 'is', null).executeTakeFirst(),
  ]);
  return { cuts: account.anchor_cuts, invoicedUntil: (latestInvoice?.at as Date | null | undefined) ?? undefined };
}

/** A downgrade waiting for the period's end (after `after`, so not yet applied) now waits until `end`. */
async function retimeWaitingDowngrade(tx: BillingTx, tenantId: string, after: Date, end: Date): Promise<void> {
  await tx
    .updateTable('billing_accounts')
    .set({ scheduled_at: end })
    .where('tenant_id', '=', tenantId)
    .where('scheduled_plan', 'is not', null)
    .where('scheduled_at', '>', after)
    .execute();
}

function hourOf(at: Date): number {
  return Math.floor(at.getTime() / HOUR_MS);
}

/**
 * Undoes the move a subscription made when it expired incomplete (it never ran a cycle: anchors
 * moved by such a subscription before only cycling ones moved them), in `tx` (the webhook's unit,
 * holding the account's lock). Only the latest cut, made by this subscription, and only while the
 * period it cut short is not invoiced: the anchor returns to the one before the move and the cut
 * is dropped, so the periods are as if it never happened (metering's too). Once that period is
 * invoiced the cut stays (the invoice is issued; periods before it cannot be re-tiled), like any
 * settled history; the next subscription's cycle moves the anchor on from there. Answers whether
 * it undid a move.
 */
export async function undoSubscriptionAnchor(tx: BillingTx, tenantId: string, subscriptionRef: string, now: Date, who: SystemActor): Promise<boolean> {
  const [current, { cuts, invoicedUntil }] = await Promise.all([lockedAnchor(tx, tenantId), settledHistory(tx, tenantId)]);
  const latestCut = cuts.at(-1);
  if (!latestCut || latestCut.subscription_ref !== subscriptionRef || current.toISOString() !== latestCut.to_anchor) return false;
  if (invoicedUntil && invoicedUntil >= new Date(latestCut.cut_at)) return false;
  const anchor = new Date(latestCut.from_anchor);
  await tx.updateTable('billing_accounts').set({ anchor_cuts: JSON.stringify(cuts.slice(0, -1)), updated_at: now }).where('tenant_id', '=', tenantId).execute();
  await tx.updateTable('tenants').set({ billing_anchor: anchor }).where('id', '=', tenantId).execute();
  // A downgrade waiting for the period's end waits for the end of the period as it is again.
  await retimeWaitingDowngrade(tx, tenantId, now, localPeriods(anchor, anchorCutsOf(cuts.slice(0, -1))).at(now).end);
  await unsafeRecordAuditForTenant(platformTx(tx), tenantId, who, {
    action: 'billing.anchor_moved',
    target: 'billing_anchor',
    before: { billing_anchor: current.toISOString(), cut_at: latestCut.cut_at },
    after: { billing_anchor: anchor.toISOString(), undone: subscriptionRef, cause: 'incomplete_expired' },
  });
  return true;
}
