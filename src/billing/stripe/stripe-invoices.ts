// With Stripe, Stripe's invoices are what gets paid; the local invoice of the same period must
// show it (GET /v1/billing). Every invoice event is recorded with the Stripe invoice it is about
// and the instant that names its local period, and the local invoice is derived from all the
// events of its period, never from the last one alone: it is paid once every Stripe invoice of
// the period has been paid (an upgrade's prorated invoice is a second one), and otherwise
// carries the latest failed attempt. A Stripe invoice once paid stays paid, so the result does
// not depend on the order events arrive in, and a duplicate changes nothing. A local invoice paid
// this way is the sum of its Stripe invoices, so a Stripe invoice of its period that fails later
// (a second one: an upgrade's proration) opens it again, as dunning does the tenant. It runs when an
// event is recorded and when the period-end job issues the local invoice (which waits out the
// late-usage grace, so Stripe's word often comes first); both lock the tenant's billing account
// first, so neither can miss what the other is committing.

import { unsafeRecordAuditForTenant } from '../../audit/record-audit.js';
import { platformTx } from '../../db/database.js';
import type { SystemActor } from '../../tenancy/actor.js';
import type { BillingTx } from '../billing-tables.js';
import type { AnchorCut } from '../local-periods.js';
import { HOUR_MS } from '../../clock.js';

export const INVOICE_EVENT_TYPES: ReadonlySet<string> = new Set(['invoice.paid', 'invoice.payment_failed']);

/**
 * The instant that names a Stripe invoice's local period: the middle of the period it covers.
 * A renewal invoice covers the period that just ended (its usage); the first one of a
 * subscription has an empty period at the subscription's start. Either way the middle lies in
 * one local period even when Stripe's anchor is a little off the local one (an hour: the local
 * anchor is the hour of the tenant's creation; the subscription is opened just after).
 */
export function stripeInvoicePeriodAt(invoice: Record<string, unknown>): Date | undefined {
  const start = invoice.period_start;
  const end = invoice.period_end;
  if (typeof start !== 'number' || typeof end !== 'number' || !Number.isFinite(start) || !Number.isFinite(end) || end < start) return undefined;
  return new Date(((start + end) / 2) * 1000);
}

/**
 * The instant naming the local period a Stripe invoice event settles (`periodAt`, its middle),
 * given the tenant's anchor cuts. The invoice Stripe issues when a subscription's cycle begins (a
 * new subscription's first, an anchor reset's) covers no time, at the start of Stripe's new
 * period, which is in the hour a cut begins: like a renewal at a period's end, it settles the
 * period that ends there (the one the cut made short), which no other Stripe invoice's middle
 * falls in. So an instant in the first hour after a cut names the period before the cut.
 */
export function settledPeriodAt(periodAt: Date, cuts: readonly AnchorCut[]): Date {
  const cut = cuts.find(({ cutAt }) => cutAt <= periodAt && periodAt.getTime() < cutAt.getTime() + HOUR_MS);
  return cut ? new Date(cut.cutAt.getTime() - 1) : periodAt;
}

/**
 * Brings the tenant's issued local invoice of the period containing `at` in line with every
 * Stripe invoice event recorded for that period, in `tx` (a service unit holding the account's
 * lock). An open invoice, or one paid from Stripe's invoices (it names one: provider_ref), follows
 * them; a draft (not issued), a void one, and one paid otherwise (the operator, or nothing to
 * collect) are left alone.
 */
export async function reconcileLocalInvoice(
  tx: BillingTx,
  tenantId: string,
  at: Date,
  cuts: readonly AnchorCut[],
  who: SystemActor,
  now: Date,
): Promise<'paid' | 'failed' | undefined> {
  const invoice = await tx
    .selectFrom('billing_invoices')
    .select(['id', 'status', 'period_start', 'period_end', 'payment_failed_at', 'provider_ref'])
    .where('tenant_id', '=', tenantId)
    .where('period_start', '<=', at)
    .where('period_end', '>', at)
    .where('deleted_at', 'is', null)
    .forUpdate()
    .executeTakeFirst();
  if (!invoice) return undefined;
  const paidByStripe = invoice.status === 'paid' && invoice.provider_ref !== null;
  if (invoice.status !== 'open' && !paidByStripe) return undefined;
  // The Stripe invoices whose instant names this period (settledPeriodAt): the first hour after a
  // cut belongs to the period before it.
  const cutAt = new Set(cuts.map(({ cutAt }) => cutAt.getTime()));
  const afterCutHour = (at: Date) => new Date(at.getTime() + (cutAt.has(at.getTime()) ? HOUR_MS : 0));
  const events = await tx
    .selectFrom('billing_provider_events')
    .select(['object_ref', 'event_type', 'event_created_at'])
    .where('tenant_id', '=', tenantId)
    .where('period_at', '>=', afterCutHour(invoice.period_start))
    .where('period_at', '<', afterCutHour(invoice.period_end))
    .where('object_ref', 'is not', null)
    .where('event_type', 'in', [...INVOICE_EVENT_TYPES])
    .where('deleted_at', 'is', null)
    .execute();
  if (events.length === 0) return undefined;

  const stripeInvoices = new Map<string, { paidAt: Date | null; failedAt: Date | null; last: Date }>();
  for (const event of events) {
    const seen = stripeInvoices.get(event.object_ref!) ?? { paidAt: null, failedAt: null, last: event.event_created_at };
    const at = event.event_created_at;
    if (event.event_type === 'invoice.paid') seen.paidAt = latest(seen.paidAt, at);
    else seen.failedAt = latest(seen.failedAt, at);
    seen.last = latest(seen.last, at)!;
    stripeInvoices.set(event.object_ref!, seen);
  }
  const byLast = [...stripeInvoices.entries()].sort(([, a], [, b]) => b.last.getTime() - a.last.getTime());
  const unpaid = byLast.filter(([, seen]) => !seen.paidAt);
  if (unpaid.length === 0) {
    if (paidByStripe) return undefined;
    const [ref] = byLast[0]!;
    const paidAt = byLast.reduce<Date | null>((max, [, seen]) => latest(max, seen.paidAt), null)!;
    await tx
      .updateTable('billing_invoices')
      .set({ status: 'paid', paid_at: paidAt, provider_ref: ref, updated_at: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', invoice.id)
      .execute();
    await audit(tx, tenantId, who, invoice.id, 'paid', { status: 'open' }, { status: 'paid', provider_ref: ref });
    return 'paid';
  }
  const failing = unpaid.filter(([, seen]) => seen.failedAt);
  if (failing.length === 0) return undefined;
  const [ref] = failing[0]!;
  const failedAt = failing.reduce<Date | null>((max, [, seen]) => latest(max, seen.failedAt), null)!;
  if (!paidByStripe && invoice.provider_ref === ref && invoice.payment_failed_at?.getTime() === failedAt.getTime()) return undefined;
  // Paid until now: a Stripe invoice of its period is not, so neither is the sum.
  await tx
    .updateTable('billing_invoices')
    .set({ status: 'open', paid_at: null, payment_failed_at: failedAt, provider_ref: ref, updated_at: now })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', invoice.id)
    .execute();
  await audit(tx, tenantId, who, invoice.id, 'failed', { status: invoice.status, payment_failed_at: invoice.payment_failed_at?.toISOString() ?? null }, {
    status: 'open',
    payment_failed_at: failedAt.toISOString(),
    provider_ref: ref,
  });
  return 'failed';
}

/**
 * Whether some Stripe invoice of the tenant has failed and never been paid, by its events, whether
 * or not a local invoice shows it yet (a renewal's failure comes before its period is invoiced).
 */
export async function hasUnpaidStripeInvoice(tx: BillingTx, tenantId: string): Promise<boolean> {
  const row = await tx
    .selectFrom('billing_provider_events')
    .select('object_ref')
    .where('tenant_id', '=', tenantId)
    .where('object_ref', 'is not', null)
    .where('event_type', 'in', [...INVOICE_EVENT_TYPES])
    .where('deleted_at', 'is', null)
    .groupBy('object_ref')
    .having((eb) => eb.and([eb.fn<boolean>('bool_or', [eb('event_type', '=', 'invoice.payment_failed')]), eb.not(eb.fn<boolean>('bool_or', [eb('event_type', '=', 'invoice.paid')]))]))
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

function latest(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return a > b ? a : b;
}

function audit(tx: BillingTx, tenantId: string, who: SystemActor, invoiceId: string, outcome: 'paid' | 'failed', before: unknown, after: unknown) {
  return unsafeRecordAuditForTenant(platformTx(tx), tenantId, who, { action: `billing.invoice_${outcome}`, target: `invoice:${invoiceId}`, before, after });
}
