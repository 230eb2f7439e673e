// The invoices module's queries. Each runs inside a unit of work Tenantry opened for one
// tenant: none of them names the tenant, and none could reach another tenant's rows.

import type { Selectable } from 'kysely';
import { keysetPage, type Page, type PagePosition } from 'tenantry';
import type { InvoiceStatus, InvoicesTable, InvoiceTx } from './invoice-tables.js';

export type InvoiceRow = Selectable<InvoicesTable>;

export interface NewInvoice {
  readonly id: string;
  readonly number: string;
  readonly customerEmail: string;
  readonly amountCents: number;
  readonly currency: string;
  readonly dueAt: Date;
  readonly createdBy: string | null;
}

export function insertInvoice(tx: InvoiceTx, invoice: NewInvoice): Promise<InvoiceRow> {
  return tx
    .insertInto('invoices')
    .values({
      id: invoice.id,
      number: invoice.number,
      customer_email: invoice.customerEmail,
      amount_cents: invoice.amountCents,
      currency: invoice.currency,
      due_at: invoice.dueAt,
      created_by: invoice.createdBy,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function findInvoice(tx: InvoiceTx, id: string): Promise<InvoiceRow | undefined> {
  return tx.selectFrom('invoices').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
}

/** Newest first, one keyset page, optionally of one status: Tenantry's pagination helper. */
export function listInvoices(tx: InvoiceTx, limit: number, after: PagePosition | undefined, status?: InvoiceStatus): Promise<Page<InvoiceRow>> {
  let query = tx.selectFrom('invoices').selectAll().where('deleted_at', 'is', null);
  if (status) query = query.where('status', '=', status);
  return keysetPage(query, { at: 'created_at', id: 'id' }, { limit, sort: 'desc', after });
}

/** Voids an invoice that is not void yet; undefined when there is none such. */
export function voidInvoice(tx: InvoiceTx, id: string, now: Date): Promise<InvoiceRow | undefined> {
  return tx
    .updateTable('invoices')
    .set({ status: 'void', voided_at: now, updated_at: now })
    .where('id', '=', id)
    .where('status', '<>', 'void')
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Open invoices past their due date become overdue; returns how many did. */
export async function markOverdue(tx: InvoiceTx, now: Date): Promise<number> {
  const result = await tx
    .updateTable('invoices')
    .set({ status: 'overdue', updated_at: now })
    .where('status', '=', 'open')
    .where('due_at', '<', now)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
