// The platform operator's billing actions: suspend or reactivate a tenant with a reason, and
// (local provider) mark an invoice paid or its payment failed, which drives dunning without a
// card network. Every action goes through the audited service role and the tenant's audit log.

import { access, platformOperatorOf } from '../http/access.js';
import { IdParams, problems } from '../http/common-schemas.js';
import type { ModuleRoutes } from '../modules/module.js';
import { InvoiceActionView, StatusChangeBody, StatusChangeView } from './billing-admin.schemas.js';
import type { BillingState } from './billing-state.js';
import type { InvoiceOutcome, InvoicePayments } from './invoice-payments.js';

export interface BillingAdminRouteDeps {
  readonly billingState: BillingState;
  readonly invoicePayments: InvoicePayments;
}

const OUTCOMES: ReadonlyArray<{ readonly path: string; readonly outcome: InvoiceOutcome; readonly summary: string }> = [
  { path: 'paid', outcome: 'paid', summary: 'Mark an open invoice paid: a past_due or suspended tenant with nothing else failed is active again' },
  { path: 'payment-failed', outcome: 'failed', summary: "Record a failed payment of an open invoice: an active tenant becomes past_due (dunning's grace period starts)" },
  { path: 'void', outcome: 'void', summary: 'Void an open invoice: nothing is owed for it' },
];

export const billingAdminRoutes: ModuleRoutes<BillingAdminRouteDeps> = async (app, { billingState, invoicePayments }) => {
  const security = [{ bearer: [] }];

  for (const { path, outcome, summary } of OUTCOMES) {
    app.post(
      `/v1/admin/billing/invoices/:id/${path}`,
      {
        config: { access: access.platformAdmin },
        schema: {
          tags: ['platform-admin', 'billing'],
          summary: `${summary} (platform admin only)`,
          security,
          params: IdParams,
          response: { 200: InvoiceActionView, ...problems(401, 403, 'not-found', 'conflict') },
        },
      },
      async (request) => {
        const result = await invoicePayments.record(request.params.id, outcome, platformOperatorOf(request));
        return { ...result, paymentFailedAt: result.paymentFailedAt?.toISOString() ?? null };
      },
    );
  }

  const statusChanges = [
    { action: 'suspend', summary: 'Suspend a tenant: it becomes read-only until reactivated or paid (platform admin only)', change: billingState.suspend.bind(billingState) },
    { action: 'reactivate', summary: 'Reactivate a suspended or past-due tenant (platform admin only)', change: billingState.reactivate.bind(billingState) },
  ] as const;
  for (const { action, summary, change } of statusChanges) {
    app.post(
      `/v1/admin/tenants/:id/${action}`,
      {
        config: { access: access.platformAdmin },
        schema: {
          tags: ['platform-admin', 'billing'],
          summary,
          security,
          params: IdParams,
          body: StatusChangeBody,
          response: { 200: StatusChangeView, ...problems(401, 403, 'not-found') },
        },
      },
      async (request) => {
        const transition = await change(request.params.id, platformOperatorOf(request), request.body.reason);
        return { tenantId: request.params.id, status: transition?.to ?? (await billingState.statusOf(request.params.id)), changed: !!transition };
      },
    );
  }
};
