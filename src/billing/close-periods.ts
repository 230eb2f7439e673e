// The period-end run: for every tenant whose billing period has closed (and whose late usage
// can no longer arrive: TENANTRY_USAGE_GRACE_HOURS after the period's end), price the period
// from its rolled-up usage and the tenant's plan, and issue the invoice with its lines. Each
// tenant's period commits in one service unit with its announcement (billing.invoice-issued,
// and the webhook billing.invoice_issued);
// the unique (tenant, period_start) makes a re-run, or two instances at once, issue it once.
//
// A tenant with no invoice yet is billed from its latest closed period on (no back-billing of
// the months before billing existed); one with invoices gets every closed period since its
// latest, at most MAX_PERIODS_PER_RUN per run.

import { HOUR_MS, startOfHour, type Clock } from '../clock.js';
import { platformTx } from '../db/database.js';
import type { BillingPeriod } from '../metering/billing-period.js';
import type { Metric } from '../metering/metric-catalog.js';
import type { Plan } from '../plans/plan.js';
import { readPlatformData } from '../plans/platform-repository.js';
import type { InvoiceIssued } from './billing-events.js';
import { announceInvoiceIssued } from './billing-webhook-events.js';
import type { BillingDatabase, BillingTx } from './billing-tables.js';
import { BillingState } from './billing-state.js';
import { insertDraftInvoice, unpaidFailedInvoices } from './invoice-repository.js';
import { anchorCutsOf, localPeriods, type LocalPeriod, type LocalPeriods } from './local-periods.js';
import { priceStretches } from './invoice-pricing.js';
import { planSegments } from './plan-changes/plan-history.js';
import { reconcileLocalInvoice } from './stripe/stripe-invoices.js';
import { periodUsage } from './period-usage.js';

const MAX_PERIODS_PER_RUN = 12;

export interface ClosedPeriod {
  readonly tenantId: string;
  readonly invoiceId: string;
  readonly periodStart: Date;
  readonly totalCents: number;
}

/** A period's pricing inputs, read in the unit that issues it. */
async function catalogOf(tx: BillingTx): Promise<{ plans: Map<string, Plan>; metrics: Metric[] }> {
  const { plans } = await readPlatformData(platformTx(tx));
  const metrics = await tx.selectFrom('usage_metrics').selectAll().execute();
  return {
    plans: new Map(plans.map((plan) => [plan.key, plan])),
    metrics: metrics.map((row) => ({
      key: row.key,
      unit: row.unit,
      aggregation: row.aggregation,
      uniqueBy: row.unique_by,
      resets: row.resets,
      enforcement: row.enforcement,
      description: row.description,
    })),
  };
}

export class PeriodClosing {
  constructor(
    private readonly db: BillingDatabase,
    private readonly clock: Clock,
    private readonly usageGraceHours: number,
    /** Moves a tenant whose new invoice Stripe already failed to past_due (the grace days are not read here). */
    private readonly state: BillingState = new BillingState(db, clock, 0),
  ) {}

  /** Issues every invoice that is due; answers what it issued. */
  async closeDue(): Promise<ClosedPeriod[]> {
    const settled = new Date(this.clock.now().getTime() - this.usageGraceHours * HOUR_MS);
    const due = await this.db.service('billing: find closed periods to invoice', async (tx) => {
      const tenants = await tx
        .selectFrom('tenants')
        .leftJoin('billing_accounts', 'billing_accounts.tenant_id', 'tenants.id')
        .select(['tenants.id', 'tenants.billing_anchor', 'billing_accounts.anchor_cuts'])
        .where('tenants.deleted_at', 'is', null)
        .where('tenants.status', '!=', 'deleted')
        .execute();
      const latest = await tx
        .selectFrom('billing_invoices')
        .select(['tenant_id', (eb) => eb.fn.max('period_end').as('last_end')])
        .groupBy('tenant_id')
        .execute();
      const lastEnd = new Map(latest.map((row) => [row.tenant_id, row.last_end as Date]));
      return tenants.flatMap((tenant) => {
        const periods = localPeriods(tenant.billing_anchor, anchorCutsOf(tenant.anchor_cuts));
        return duePeriods(periods, lastEnd.get(tenant.id), settled).map((period) => ({ tenantId: tenant.id, period }));
      });
    });
    const closed: ClosedPeriod[] = [];
    for (const { tenantId, period } of due) {
      const issued = await this.close(tenantId, period);
      if (issued) closed.push(issued);
    }
    return closed;
  }

  /** One tenant's period, in one service unit; undefined when it was issued already. */
  close(tenantId: string, period: BillingPeriod & Partial<Pick<LocalPeriod, 'month'>>): Promise<ClosedPeriod | undefined> {
    return this.db.service('billing: issue a period\'s invoice', async (tx) => {
      // The account's lock, which a Stripe invoice event takes too: whichever commits first, the
      // other sees it, so the new invoice cannot miss Stripe's word on its period (below).
      const [account] = await tx.selectFrom('billing_accounts').select('anchor_cuts').where('tenant_id', '=', tenantId).forUpdate().execute();
      const cuts = anchorCutsOf(account?.anchor_cuts);
      // A period read before the anchor moved (the webhook's unit holds this lock too) that a
      // cut now splits is not issued: the next run issues it as cut.
      if (cuts.some(({ cutAt }) => cutAt > period.start && cutAt < period.end)) return undefined;
      const tenant = await tx.selectFrom('tenants').select('plan').where('id', '=', tenantId).executeTakeFirstOrThrow();
      const { plans, metrics } = await catalogOf(tx);
      // Each stretch of the period on one plan, billed for its share; the plan at the period's end names the invoice.
      const stretches = (await planSegments(tx, tenantId, period, tenant.plan)).map((segment) => {
        const onPlan = plans.get(segment.plan);
        if (!onPlan) throw new Error(`tenant ${tenantId} was on plan "${segment.plan}", which the catalog lacks`);
        return { ...segment, plan: onPlan };
      });
      const plan = stretches.at(-1)!.plan;
      const usage = await periodUsage(platformTx(tx), tenantId, metrics, period.start, period.end);
      // A period a moved anchor cut short costs its share of the month.
      const priced = priceStretches(stretches, usage, period.month);
      const invoiceId = await insertDraftInvoice(tx, { tenantId, plan: plan.key, periodStart: period.start, periodEnd: period.end, priced });
      if (!invoiceId) return undefined;
      const now = this.clock.now();
      // Nothing to collect is settled at once: a free plan never enters dunning.
      const settledNow = priced.totalCents === 0;
      await tx
        .updateTable('billing_invoices')
        .set({ status: settledNow ? 'paid' : 'open', issued_at: now, paid_at: settledNow ? now : null, updated_at: now })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', invoiceId)
        .execute();
      const event: Omit<InvoiceIssued, 'topic' | 'tenantId'> = {
        invoiceId,
        totalCents: priced.totalCents,
        currency: 'usd',
        periodStart: period.start.toISOString(),
        periodEnd: period.end.toISOString(),
      };
      await announceInvoiceIssued(platformTx(tx), tenantId, event);
      // With Stripe, what Stripe said about this period's invoices before it closed.
      if (!settledNow) {
        const who = { kind: 'system', name: 'billing', requestId: `close:${invoiceId}` } as const;
        await reconcileLocalInvoice(tx, tenantId, period.start, cuts, who, now);
        // A failure Stripe reported before the invoice existed (perhaps stale for dunning then) counts now.
        if ((await unpaidFailedInvoices(tx, tenantId)) > 0) await this.state.applyIn(tx, tenantId, 'payment_failed', who);
      }
      return { tenantId, invoiceId, periodStart: period.start, totalCents: priced.totalCents };
    });
  }
}

/** The closed periods still to invoice: those after `lastEnd` (or only the latest), ended by `settled`. */
export function duePeriods(periods: LocalPeriods, lastEnd: Date | undefined, settled: Date): LocalPeriod[] {
  const open = periods.at(settled);
  const latestClosed = periods.at(new Date(open.start.getTime() - 1));
  // A period that began before the first anchor's hour is one the tenant did not have.
  if (latestClosed.start.getTime() < startOfHour(periods.firstAnchor).getTime()) return [];
  if (!lastEnd) return [latestClosed];
  const due: LocalPeriod[] = [];
  for (let period = periods.at(lastEnd); period.end <= open.start && due.length < MAX_PERIODS_PER_RUN; ) {
    due.push(period);
    period = periods.at(period.end);
  }
  return due;
}
