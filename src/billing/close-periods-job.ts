// The period-end run as a scheduled service job, hourly: periods start on the hour, so an
// invoice is issued within the hour after its period's usage has settled.

import { Type } from 'typebox';
import { defineServiceJob } from '../jobs/define-job.js';
import type { JobSchedule } from '../jobs/jobs.js';
import type { BillingTables } from './billing-tables.js';
import { PeriodClosing } from './close-periods.js';
import { billingProviderFor } from './provider/create-billing-provider.js';
import { UsageReporting } from './provider/report-period-usage.js';

export const closePeriodsJob = defineServiceJob({
  name: 'billing-close-periods',
  payload: Type.Object({}, { additionalProperties: false }),
  handler: async (_data, { db, clock, config }, run) => {
    const closing = new PeriodClosing(db.withTables<BillingTables>(), clock, config.usageGraceHours);
    const issued = await closing.closeDue();
    if (issued.length > 0) run.logger.info({ invoices: issued.length }, 'billing periods closed');
    // The issued invoices' metered usage goes to the provider (Stripe meter events; nothing locally).
    const reported = await new UsageReporting(db.withTables<BillingTables>(), billingProviderFor(config), clock).reportDue(run.logger);
    if (reported.recorded + reported.sent + reported.failed > 0) run.logger.info(reported, 'metered usage reported to the billing provider');
  },
});

export const closePeriodsSchedule: JobSchedule = { job: closePeriodsJob, cron: '5 * * * *' };
