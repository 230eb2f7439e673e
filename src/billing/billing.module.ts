// Billing as a module: each tenant's billing account, invoices and their lines (tenant tables the
// app role may only read: billing writes go through the audited service role), dunning's
// scheduled job, the tenant's billing pages and the operator's billing actions, plan changes
// (PATCH /v1/tenant/plan, the operator's, the period-end job) and billing's tenant webhooks.
//
// Nothing here is personal data or a credential: invoices hold amounts, periods and the
// provider's ids, so no column is `personal` or `secret`.

import { fileURLToPath } from 'node:url';
import { meteringModule } from '../metering/metering.module.js';
import { planLimitsFrom } from '../metering/plan-limits.js';
import { defineModule, routePlugins } from '../modules/module.js';
import { plansModule } from '../plans/plans.module.js';
import { tenancyModule } from '../tenancy/tenancy.module.js';
import { billingAdminRoutes, type BillingAdminRouteDeps } from './billing-admin.routes.js';
import { BillingOverviewReader } from './billing-overview.js';
import { BillingState } from './billing-state.js';
import type { BillingTables } from './billing-tables.js';
import { billingRoutes, type BillingRouteDeps } from './billing.routes.js';
import { closePeriodsJob, closePeriodsSchedule } from './close-periods-job.js';
import { InvoicePayments } from './invoice-payments.js';
import { suspendOverdueJob, suspendOverdueSchedule } from './suspend-overdue-job.js';
import { billingProviderFor } from './provider/create-billing-provider.js';
import { provisionBillingAccountsJob, provisionBillingAccountsSchedule } from './provider/provision-billing-accounts-job.js';
import { setupPaymentMethodsJob, setupPaymentMethodsSchedule } from './provider/setup-payment-methods-job.js';
import { BillingCheckout } from './stripe/checkout.js';
import { checkoutRoutes, type CheckoutRouteDeps } from './stripe/checkout.routes.js';
import { StripeEventHandler } from './stripe/stripe-event-handler.js';
import { stripeWebhookRoutes, type StripeWebhookRouteDeps } from './stripe/stripe-webhook.routes.js';
import { applyPlanChangesJob, applyPlanChangesSchedule } from './plan-changes/apply-plan-changes-job.js';
import { planChangeRoutes, type PlanChangeRouteDeps } from './plan-changes/plan-change.routes.js';
import { PlanChanges } from './plan-changes/plan-changes.js';
import { subscriptionChangerFor } from './plan-changes/subscription-changer.js';
import { webhooksModule } from '../webhooks/webhooks.module.js';

interface BillingModuleDeps extends BillingAdminRouteDeps, BillingRouteDeps, CheckoutRouteDeps, StripeWebhookRouteDeps, PlanChangeRouteDeps {}

export const billingModule = defineModule({
  name: 'billing',
  dependsOn: [tenancyModule, plansModule, meteringModule, webhooksModule],
  migrations: fileURLToPath(new URL('./migrations', import.meta.url)),
  tenantTables: [
    { name: 'billing_accounts' },
    { name: 'billing_invoices' },
    { name: 'billing_invoice_lines' },
    // Bookkeeping of the provider's deliveries: nothing a tenant would want back.
    { name: 'billing_provider_events', exported: false },
    { name: 'billing_usage_reports' },
    { name: 'billing_plan_changes' },
  ],
  jobs: [suspendOverdueJob, closePeriodsJob, provisionBillingAccountsJob, setupPaymentMethodsJob, applyPlanChangesJob],
  schedules: [suspendOverdueSchedule, closePeriodsSchedule, provisionBillingAccountsSchedule, setupPaymentMethodsSchedule, applyPlanChangesSchedule],
  compose: ({ db: platformDb, clock, config, invalidation, plans, metering, logger }): BillingModuleDeps => {
    const db = platformDb.withTables<BillingTables>();
    const billingState = new BillingState(db, clock, config.billing.graceDays, invalidation);
    const provider = billingProviderFor(config);
    const stripe = config.billing.stripe;
    // A plan change tells the provider inside its transaction: a provider that refuses rolls it back.
    const planChanges = new PlanChanges(db, clock, subscriptionChangerFor(provider), invalidation);
    return {
      clock,
      billingCheckout: new BillingCheckout(db, provider, plans, stripe),
      stripeWebhooks: stripe && { handler: new StripeEventHandler(db, billingState, planChanges, stripe.prices, clock, logger), secret: stripe.webhookSecret },
      billingState,
      invoicePayments: new InvoicePayments(db, clock, billingState),
      planChanges,
      billingOverview: new BillingOverviewReader(db, clock, plans, planLimitsFrom(plans), metering.catalog, config.billing.graceDays),
    };
  },
  routes: routePlugins<BillingModuleDeps>(billingRoutes, billingAdminRoutes, checkoutRoutes, stripeWebhookRoutes, planChangeRoutes),
});
