// Every minute: payment methods saved by completed Checkouts become the ones the provider
// charges (setup-payment-methods.ts). Nothing to do on the local provider.

import { Type } from 'typebox';
import { defineServiceJob } from '../../jobs/define-job.js';
import type { JobSchedule } from '../../jobs/jobs.js';
import type { BillingTables } from '../billing-tables.js';
import { billingProviderFor } from './create-billing-provider.js';
import { SetupPaymentMethods } from './setup-payment-methods.js';

export const setupPaymentMethodsJob = defineServiceJob({
  name: 'billing-setup-payment-methods',
  payload: Type.Object({}, { additionalProperties: false }),
  handler: async (_data, { db, config }, run) => {
    const applied = await new SetupPaymentMethods(db.withTables<BillingTables>(), billingProviderFor(config)).applyPending(run.logger);
    if (applied > 0) run.logger.info({ tenants: applied }, 'Checkout payment methods made the default');
  },
});

export const setupPaymentMethodsSchedule: JobSchedule = { job: setupPaymentMethodsJob, cron: '* * * * *' };
