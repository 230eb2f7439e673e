// All SQL about invoices and their lines. Tenant reads run in the tenant's unit (the filter and
// RLS scope them); writes run in service units, which name the tenant themselves.

import { newId } from '../db/ids.js';
import type { BillingTx, InvoiceStatus } from './billing-tables.js';
import type { PricedPeriod } from './invoice-pricing.js';

export interface InvoiceRow {
  readonly tenant_id: string;
  readonly id: string;
  readonly period_start: Date;
  readonly period_end: Date;
  readonly plan: string;
  readonly currency: string;
  readonly status: InvoiceStatus;
  readonly total_cents: string;
  readonly issued_at: Date | null;
  readonly paid_at: Date | null;
  readonly voided_at: Date | null;
  readonly payment_failed_at: Date | null;
  readonly provider_ref: string | null;
}

export interface InvoiceLineRow {
  readonly kind: 'plan' | 'overage';
  readonly metric: string | null;
  readonly description: string;
  readonly quantity: string;
  readonly included: string | null;
  readonly unit_price_millicents: string | null;
  readonly amount_cents: string;
}

const INVOICE_COLUMNS = [
  'tenant_id',
  'id',
  'period_start',
  'period_end',
  'plan',
  'currency',
  'status',
  'total_cents',
  'issued_at',
  'paid_at',
  'voided_at',
  'payment_failed_at',
  'provider_ref',
] as const;

/**
 * A draft of the period's invoice with its lines, unless the tenant has one for that period
 * already (then undefined): re-running a period's close writes nothing twice.
 */
export async function insertDraftInvoice(
  tx: BillingTx,
  draft: { tenantId: string; plan: string; periodStart: Date; periodEnd: Date; priced: PricedPeriod },
): Promise<string | undefined> {
  const id = newId();
  const inserted = await tx
    .insertInto('billing_invoices')
    .values({
      tenant_id: draft.tenantId,
      id,
      period_start: draft.periodStart,
      period_end: draft.periodEnd,
      plan: draft.plan,
      status: 'draft',
      total_cents: draft.priced.totalCents,
    })
    .onConflict((conflict) => conflict.columns(['tenant_id', 'period_start']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return undefined;
  await tx
    .insertInto('billing_invoice_lines')
    .values(
      draft.priced.lines.map((line, position) => ({
        tenant_id: draft.tenantId,
        id: newId(),
        invoice_id: id,
        position,
        kind: line.kind,
        metric: line.metric,
        description: line.description,
        quantity: line.quantity,
        included: line.included,
        unit_price_millicents: line.unitPriceMillicents,
        amount_cents: line.amountCents,
      })),
    )
    .execute();
  return id;
}

/** Locks and reads one invoice, of any tenant (service units). */
export function lockInvoice(tx: BillingTx, invoiceId: string): Promise<InvoiceRow | undefined> {
  return tx.selectFrom('billing_invoices').select(INVOICE_COLUMNS).where('id', '=', invoiceId).where('deleted_at', 'is', null).forUpdate().executeTakeFirst();
}

/** The tenant's invoices, newest period first (tenant units). */
export function listInvoices(tx: BillingTx, limit: number): Promise<InvoiceRow[]> {
  return tx
    .selectFrom('billing_invoices')
    .select(INVOICE_COLUMNS)
    .where('deleted_at', 'is', null)
    .orderBy('period_start', 'desc')
    .limit(limit)
    .execute();
}

export function findInvoice(tx: BillingTx, invoiceId: string): Promise<InvoiceRow | undefined> {
  return tx.selectFrom('billing_invoices').select(INVOICE_COLUMNS).where('id', '=', invoiceId).where('deleted_at', 'is', null).executeTakeFirst();
}

export function linesOf(tx: BillingTx, tenantId: string, invoiceId: string): Promise<InvoiceLineRow[]> {
  return tx
    .selectFrom('billing_invoice_lines')
    .select(['kind', 'metric', 'description', 'quantity', 'included', 'unit_price_millicents', 'amount_cents'])
    .where('tenant_id', '=', tenantId)
    .where('invoice_id', '=', invoiceId)
    .where('deleted_at', 'is', null)
    .orderBy('position')
    .execute();
}

/** Open invoices whose last payment attempt failed, other than `except` (service units). */
export async function unpaidFailedInvoices(tx: BillingTx, tenantId: string, except?: string): Promise<number> {
  const rows = await tx
    .selectFrom('billing_invoices')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'open')
    .where('payment_failed_at', 'is not', null)
    .$if(except !== undefined, (query) => query.where('id', '!=', except!))
    .where('deleted_at', 'is', null)
    .execute();
  return rows.length;
}
