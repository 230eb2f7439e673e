// What happens to an issued invoice: paid, its payment failed, or voided. With the local
// provider the platform operator says so (to exercise dunning without a card network); with
// Stripe its webhooks do. A payment and its effect on the tenant's dunning state commit
// together: the last failed invoice paid makes the tenant active again; a failed payment makes
// it past_due. Saying the same thing twice changes nothing the second time.

import { platformTx } from '../db/database.js';
import { unsafeRecordAuditForTenant } from '../audit/record-audit.js';
import type { Clock } from '../clock.js';
import type { TenantStatus } from '../db/tables.js';
import { AppError } from '../http/problems.js';
import type { BillingActor, BillingState } from './billing-state.js';
import type { BillingDatabase, InvoiceStatus } from './billing-tables.js';
import { lockInvoice, unpaidFailedInvoices } from './invoice-repository.js';

export type InvoiceOutcome = 'paid' | 'failed' | 'void';

export interface InvoiceActionResult {
  readonly invoiceId: string;
  readonly invoiceStatus: InvoiceStatus;
  readonly tenantStatus: TenantStatus;
  readonly paymentFailedAt: Date | null;
}

export class InvoicePayments {
  constructor(
    private readonly db: BillingDatabase,
    private readonly clock: Clock,
    private readonly state: BillingState,
  ) {}

  /** Records an outcome for an open invoice; a paid or void invoice cannot change (409). */
  record(invoiceId: string, outcome: InvoiceOutcome, who: BillingActor): Promise<InvoiceActionResult> {
    return this.db.service(`billing: invoice ${outcome}`, async (tx) => {
      const invoice = await lockInvoice(tx, invoiceId);
      if (!invoice) throw new AppError('not-found', 'no such invoice');
      const now = this.clock.now();
      // Marked paid (or void) again: already so, nothing to do.
      if (invoice.status === outcome) return this.#result(tx, invoice.tenant_id, invoiceId, invoice.status, invoice.payment_failed_at);
      if (invoice.status === 'paid' || invoice.status === 'void') throw new AppError('conflict', `the invoice is ${invoice.status}; it can no longer be marked ${outcome}`, { invoice_status: invoice.status });
      if (invoice.status === 'draft') throw new AppError('conflict', 'the invoice is a draft: its period has not closed', { invoice_status: 'draft' });
      const change =
        outcome === 'paid'
          ? { status: 'paid' as const, paid_at: now }
          : outcome === 'void'
            ? { status: 'void' as const, voided_at: now }
            : { payment_failed_at: now };
      await tx.updateTable('billing_invoices').set({ ...change, updated_at: now }).where('tenant_id', '=', invoice.tenant_id).where('id', '=', invoiceId).execute();
      await unsafeRecordAuditForTenant(platformTx(tx), invoice.tenant_id, who, {
        action: `billing.invoice_${outcome}`,
        target: `invoice:${invoiceId}`,
        before: { status: invoice.status },
        after: { status: change.status ?? invoice.status },
      });
      if (outcome === 'failed') await this.state.applyIn(tx, invoice.tenant_id, 'payment_failed', who);
      // Paid or voided, the tenant is square once no other open invoice has failed.
      else if ((await unpaidFailedInvoices(tx, invoice.tenant_id, invoiceId)) === 0) {
        await this.state.applyIn(tx, invoice.tenant_id, 'payment_succeeded', who);
      }
      return this.#result(tx, invoice.tenant_id, invoiceId, change.status ?? invoice.status, outcome === 'failed' ? now : invoice.payment_failed_at);
    });
  }

  async #result(
    tx: Parameters<Parameters<BillingDatabase['service']>[1]>[0],
    tenantId: string,
    invoiceId: string,
    invoiceStatus: InvoiceStatus,
    paymentFailedAt: Date | null,
  ): Promise<InvoiceActionResult> {
    const tenant = await tx.selectFrom('tenants').select('status').where('id', '=', tenantId).executeTakeFirstOrThrow();
    return { invoiceId, invoiceStatus, tenantStatus: tenant.status, paymentFailedAt };
  }
}
