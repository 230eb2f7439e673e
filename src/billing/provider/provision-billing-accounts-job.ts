// Provisioning as a scheduled service job, every minute: a new tenant has its Stripe customer
// and subscription within about a minute of signing up (nothing to do on the local provider).

import { Type } from 'typebox';
import { defineServiceJob } from '../../jobs/define-job.js';
import type { JobSchedule } from '../../jobs/jobs.js';
import type { BillingTables } from '../billing-tables.js';
import { billingProviderFor } from './create-billing-provider.js';
import { BillingAccountProvisioning } from './provision-billing-accounts.js';

export const provisionBillingAccountsJob = defineServiceJob({
  name: 'billing-provision-accounts',
  payload: Type.Object({}, { additionalProperties: false }),
  handler: async (_data, { db, clock, config }, run) => {
    const provisioning = new BillingAccountProvisioning(db.withTables<BillingTables>(), billingProviderFor(config), clock);
    const provisioned = await provisioning.provisionPending(run.logger);
    if (provisioned > 0) run.logger.info({ tenants: provisioned }, 'billing accounts provisioned');
  },
});

export const provisionBillingAccountsSchedule: JobSchedule = { job: provisionBillingAccountsJob, cron: '* * * * *' };
