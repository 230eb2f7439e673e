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
// nothing; a cut is never placed before the latest cut or inside a period already invoiced.
// Events older than the last one applied never get here (stale), and a redelivery is a
// duplicate, so each move happens once.

import { unsafeRecordAuditForTenant } from '../../audit/record-audit.js';
import { platformTx } from '../../db/database.js';
import { newId } from '../../db/ids.js';
import { billingPeriod } from '../../metering/billing-period.js';
import type { SystemActor } from '../../tenancy/actor.js';
import type { BillingTx } from '../billing-tables.js';

const HOUR_MS = 3_600_000;

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
  const tenant = await tx.selectFrom('tenants').select('billing_anchor').where('id', '=', tenantId).forUpdate().executeTakeFirstOrThrow();
  // Periods start on the hour: an anchor in the same hour gives the same periods.
  if (hourOf(anchor) <= hourOf(tenant.billing_anchor)) return false;
  const [latestCut, latestInvoice] = await Promise.all([
    tx.selectFrom('billing_anchor_changes').select((eb) => eb.fn.max('cut_at').as('at')).where('tenant_id', '=', tenantId).where('deleted_at', 'is', null).executeTakeFirst(),
    tx.selectFrom('billing_invoices').select((eb) => eb.fn.max('period_end').as('at')).where('tenant_id', '=', tenantId).where('deleted_at', 'is', null).executeTakeFirst(),
  ]);
  // Where Stripe's current period began, unless that is in what is settled already.
  let cut = billingPeriod(anchor, at).start;
  for (const floor of [latestCut?.at, latestInvoice?.at]) if (floor && floor > cut) cut = floor as Date;
  await tx
    .insertInto('billing_anchor_changes')
    .values({ tenant_id: tenantId, id: newId(), from_anchor: tenant.billing_anchor, to_anchor: anchor, cut_at: cut, subscription_ref: subscriptionRef, event_created_at: at })
    // Moved again before a period began under the last move: the same cut, the newer anchor.
    .onConflict((conflict) =>
      conflict.columns(['tenant_id', 'cut_at']).doUpdateSet((eb) => ({
        to_anchor: eb.ref('excluded.to_anchor'),
        subscription_ref: eb.ref('excluded.subscription_ref'),
        event_created_at: eb.ref('excluded.event_created_at'),
      })),
    )
    .execute();
  await tx.updateTable('tenants').set({ billing_anchor: anchor }).where('id', '=', tenantId).execute();
  // A downgrade waiting for "the period's end" was told to Stripe as its period's end: it now
  // waits for the end of the period that follows the cut, as Stripe's does.
  await tx
    .updateTable('billing_accounts')
    .set({ scheduled_at: billingPeriod(anchor, at < cut ? cut : at).end })
    .where('tenant_id', '=', tenantId)
    .where('scheduled_plan', 'is not', null)
    .where('scheduled_at', '>', cut)
    .execute();
  await unsafeRecordAuditForTenant(platformTx(tx), tenantId, who, {
    action: 'billing.anchor_moved',
    target: 'billing_anchor',
    before: { billing_anchor: tenant.billing_anchor.toISOString() },
    after: { billing_anchor: anchor.toISOString(), cut_at: cut.toISOString(), subscription: subscriptionRef },
  });
  return true;
}

function hourOf(at: Date): number {
  return Math.floor(at.getTime() / HOUR_MS);
}
