// Response schemas of the tenant's billing pages, and the mapping from rows to them.

import { Type } from 'typebox';
import { Timestamp } from '../http/common-schemas.js';
import type { BillingOverview } from './billing-overview.js';
import type { InvoiceLineRow, InvoiceRow } from './invoice-repository.js';
import type { PricedLine } from './invoice-pricing.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const InvoiceLineView = Type.Object({
  kind: Type.Union([Type.Literal('plan'), Type.Literal('overage')]),
  metric: Nullable(Type.String()),
  description: Type.String(),
  quantity: Type.Integer(),
  included: Nullable(Type.Integer()),
  unitPriceMillicents: Nullable(Type.Integer({ description: 'Thousandths of a cent per unit' })),
  amountCents: Type.Integer(),
});

const InvoiceStatus = Type.Union([Type.Literal('draft'), Type.Literal('open'), Type.Literal('paid'), Type.Literal('void')]);

export const InvoiceSummaryView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  periodStart: Timestamp,
  periodEnd: Timestamp,
  plan: Type.String(),
  currency: Type.String(),
  status: InvoiceStatus,
  totalCents: Type.Integer(),
  issuedAt: Nullable(Timestamp),
  paidAt: Nullable(Timestamp),
  voidedAt: Nullable(Timestamp),
  paymentFailedAt: Nullable(Timestamp),
  /** With Stripe: the Stripe invoice (in_...) whose payment this invoice shows. */
  providerRef: Nullable(Type.String()),
});

export const InvoiceView = Type.Object({ ...InvoiceSummaryView.properties, lines: Type.Array(InvoiceLineView) });

export const BillingOverviewView = Type.Object({
  plan: Type.Object({ key: Type.String(), name: Type.String(), monthlyPriceCents: Nullable(Type.Integer()) }),
  status: Type.Union([Type.Literal('active'), Type.Literal('past_due'), Type.Literal('suspended'), Type.Literal('deleted')]),
  pastDueSince: Nullable(Timestamp),
  suspendsAt: Nullable(Timestamp),
  period: Type.Object({ start: Timestamp, end: Timestamp }),
  usage: Type.Array(
    Type.Object({
      metric: Type.String(),
      used: Type.Number(),
      included: Nullable(Type.Integer()),
      limit: Nullable(Type.Number()),
      projected: Type.Number({ description: 'Usage so far stretched over the whole period' }),
    }),
  ),
  upcomingInvoice: Type.Object({ status: Type.Literal('draft'), lines: Type.Array(InvoiceLineView), totalCents: Type.Integer() }),
  projectedTotalCents: Type.Integer(),
  invoices: Type.Array(InvoiceSummaryView),
  pendingPlanChange: Type.Union([Type.Object({ plan: Type.String(), at: Timestamp }), Type.Null()], {
    description: 'A downgrade waiting for the end of the billing period; PATCH /v1/tenant/plan with the current plan cancels it',
  }),
});

const iso = (value: Date | null) => value?.toISOString() ?? null;
const integer = (value: string | null) => (value === null ? null : Number(value));

export function invoiceSummaryView(row: InvoiceRow) {
  return {
    id: row.id,
    periodStart: row.period_start.toISOString(),
    periodEnd: row.period_end.toISOString(),
    plan: row.plan,
    currency: row.currency,
    status: row.status,
    totalCents: Number(row.total_cents),
    issuedAt: iso(row.issued_at),
    paidAt: iso(row.paid_at),
    voidedAt: iso(row.voided_at),
    paymentFailedAt: iso(row.payment_failed_at),
    providerRef: row.provider_ref,
  };
}

export function storedLineView(line: InvoiceLineRow) {
  return {
    kind: line.kind,
    metric: line.metric,
    description: line.description,
    quantity: Number(line.quantity),
    included: integer(line.included),
    unitPriceMillicents: integer(line.unit_price_millicents),
    amountCents: Number(line.amount_cents),
  };
}

function pricedLineView(line: PricedLine) {
  return { ...line };
}

export function overviewView(overview: BillingOverview) {
  return {
    plan: { key: overview.plan.key, name: overview.plan.name, monthlyPriceCents: overview.plan.monthlyPriceCents },
    status: overview.status,
    pastDueSince: iso(overview.pastDueSince),
    suspendsAt: iso(overview.suspendsAt),
    period: { start: overview.period.start.toISOString(), end: overview.period.end.toISOString() },
    usage: [...overview.usage],
    upcomingInvoice: { status: 'draft' as const, lines: overview.upcoming.lines.map(pricedLineView), totalCents: overview.upcoming.totalCents },
    projectedTotalCents: overview.projectedTotalCents,
    invoices: overview.invoices.map(invoiceSummaryView),
    pendingPlanChange: overview.pendingPlanChange ? { plan: overview.pendingPlanChange.plan, at: overview.pendingPlanChange.at.toISOString() } : null,
  };
}
