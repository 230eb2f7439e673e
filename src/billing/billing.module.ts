// Billing as a module: each tenant's billing account, invoices and their lines (tenant tables the
// app role may only read: billing writes go through the audited service role), dunning's
// scheduled job, the tenant's billing pages and the operator's billing actions.
//
// Nothing here is personal data or a credential: invoices hold amounts, periods and the
// provider's ids, so no column is `personal` or `secret`.

import { fileURLToPath } from 'node:url';
import { meteringModule } from '../metering/metering.module.js';
import { defineModule, routePlugins } from '../modules/module.js';
import { plansModule } from '../plans/plans.module.js';
import { tenancyModule } from '../tenancy/tenancy.module.js';
import { billingAdminRoutes, type BillingAdminRouteDeps } from './billing-admin.routes.js';
import { BillingState } from './billing-state.js';
import type { BillingTables } from './billing-tables.js';
import { suspendOverdueJob, suspendOverdueSchedule } from './suspend-overdue-job.js';

type BillingModuleDeps = BillingAdminRouteDeps;

export const billingModule = defineModule({
  name: 'billing',
  dependsOn: [tenancyModule, plansModule, meteringModule],
  migrations: fileURLToPath(new URL('./migrations', import.meta.url)),
  tenantTables: [{ name: 'billing_accounts' }, { name: 'billing_invoices' }, { name: 'billing_invoice_lines' }],
  jobs: [suspendOverdueJob],
  schedules: [suspendOverdueSchedule],
  compose: ({ db: platformDb, clock, config, invalidation }): BillingModuleDeps => {
    const db = platformDb.withTables<BillingTables>();
    return { billingState: new BillingState(db, clock, config.billing.graceDays, invalidation) };
  },
  routes: routePlugins<BillingModuleDeps>(billingAdminRoutes),
});
