// What GET /v1/billing shows a tenant's admins: the plan, the open period, the period's usage
// per metric against what the plan includes and its limits, the upcoming invoice as it stands
// (a draft priced from usage so far), the projected cost of the whole period, the dunning state
// and past invoices. All of it is read in the tenant's own units, so a suspended (read-only)
// tenant sees it too.

import { DAY_MS, type Clock } from '../clock.js';
import { platformTx } from '../db/database.js';
import type { TenantStatus } from '../db/tables.js';
import { AppError } from '../http/problems.js';
import type { MetricCatalog } from '../metering/metric-catalog.js';
import type { PlanLimits } from '../metering/plan-limits.js';
import type { Plan } from '../plans/plan.js';
import type { Plans } from '../plans/plans.js';
import type { Actor } from '../tenancy/actor.js';
import type { BillingDatabase } from './billing-tables.js';
import { findInvoice, linesOf, listInvoices, type InvoiceLineRow, type InvoiceRow } from './invoice-repository.js';
import { priceStretches, type PricedLine } from './invoice-pricing.js';
import { readLocalPeriods } from './local-periods.js';
import { planSegments } from './plan-changes/plan-history.js';
import { periodUsage } from './period-usage.js';

const PAST_INVOICES = 24;

export interface MetricStanding {
  readonly metric: string;
  readonly used: number;
  readonly included: number | null;
  readonly limit: number | null;
  readonly projected: number;
}

export interface BillingOverview {
  readonly plan: Plan;
  readonly status: TenantStatus;
  readonly pastDueSince: Date | null;
  /** When a past_due tenant becomes read-only unless it pays. */
  readonly suspendsAt: Date | null;
  readonly period: { readonly start: Date; readonly end: Date };
  readonly usage: readonly MetricStanding[];
  readonly upcoming: { readonly lines: readonly PricedLine[]; readonly totalCents: number };
  readonly projectedTotalCents: number;
  readonly invoices: readonly InvoiceRow[];
  /** A downgrade waiting for the end of the period (cancelled by choosing the current plan again). */
  readonly pendingPlanChange: { readonly plan: string; readonly at: Date } | null;
}

export class BillingOverviewReader {
  constructor(
    private readonly db: BillingDatabase,
    private readonly clock: Clock,
    private readonly plans: Plans,
    private readonly limits: PlanLimits,
    private readonly catalog: MetricCatalog,
    private readonly graceDays: number,
  ) {}

  async read(actor: Actor): Promise<BillingOverview> {
    const plan = await this.plans.find(actor.plan);
    if (!plan) throw new Error(`the tenant's plan "${actor.plan}" is not in the catalog`);
    const metrics = [...(await this.catalog.all()).values()];
    const limits = new Map<string, number | null>();
    for (const metric of metrics) limits.set(metric.key, await this.limits.limitFor(plan.key, metric.key));
    const now = this.clock.now();
    return this.db.tenant(async (tx) => {
      // Billing's period: after a moved anchor's cut it starts at the cut, as its invoice will.
      const { start, end, month } = (await readLocalPeriods(tx, actor.tenantId)).at(now);
      const period = { start, end };
      const used = await periodUsage(platformTx(tx), actor.tenantId, metrics, period.start, period.end);
      const tenant = await tx.selectFrom('tenants').select('status').where('id', '=', actor.tenantId).executeTakeFirstOrThrow();
      const account = await tx.selectFrom('billing_accounts').select(['past_due_since', 'scheduled_plan', 'scheduled_at']).executeTakeFirst();
      // Usage so far, stretched over the whole period: a straight-line projection.
      const elapsed = Math.max(now.getTime() - period.start.getTime(), 1);
      const stretch = (period.end.getTime() - period.start.getTime()) / elapsed;
      const projected = new Map([...used].map(([metric, value]) => [metric, Math.ceil(value * stretch)]));
      // The upcoming invoice bills each stretch of the period on one plan, as closing it will.
      const stretches = await Promise.all(
        (await planSegments(tx, actor.tenantId, period, plan.key)).map(async (segment) => {
          const onPlan = segment.plan === plan.key ? plan : await this.plans.find(segment.plan);
          if (!onPlan) throw new Error(`the tenant was on plan "${segment.plan}", which the catalog lacks`);
          return { ...segment, plan: onPlan };
        }),
      );
      const upcoming = priceStretches(stretches, used, month);
      const pastDueSince = account?.past_due_since ?? null;
      return {
        plan,
        status: tenant.status,
        pastDueSince,
        suspendsAt: tenant.status === 'past_due' && pastDueSince ? new Date(pastDueSince.getTime() + this.graceDays * DAY_MS) : null,
        period,
        usage: [...used].map(([metric, value]) => ({
          metric,
          used: value,
          included: plan.meteredPrices[metric]?.included ?? null,
          limit: limits.get(metric) ?? null,
          projected: projected.get(metric) ?? value,
        })),
        upcoming,
        projectedTotalCents: priceStretches(stretches, projected, month).totalCents,
        invoices: await listInvoices(tx, PAST_INVOICES),
        pendingPlanChange: account?.scheduled_plan && account.scheduled_at ? { plan: account.scheduled_plan, at: account.scheduled_at } : null,
      };
    });
  }

  /** One of the tenant's invoices with its lines; another tenant's is not found, like a made-up id. */
  async invoice(actor: Actor, invoiceId: string): Promise<{ invoice: InvoiceRow; lines: InvoiceLineRow[] }> {
    return this.db.tenant(async (tx) => {
      const invoice = await findInvoice(tx, invoiceId);
      if (!invoice) throw new AppError('not-found', 'no such invoice');
      return { invoice, lines: await linesOf(tx, actor.tenantId, invoiceId) };
    });
  }
}
