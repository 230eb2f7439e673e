// The period-end run as a scheduled service job, hourly: periods start on the hour, so an
// invoice is issued within the hour after its period's usage has settled.

import { Type } from 'typebox';
import { defineServiceJob } from '../jobs/define-job.js';
import type { JobSchedule } from '../jobs/jobs.js';
import type { BillingTables } from './billing-tables.js';
import { PeriodClosing } from './close-periods.js';

export const closePeriodsJob = defineServiceJob({
  name: 'billing-close-periods',
  payload: Type.Object({}, { additionalProperties: false }),
  handler: async (_data, { db, clock, config }, run) => {
    const closing = new PeriodClosing(db.withTables<BillingTables>(), clock, config.usageGraceHours);
    const issued = await closing.closeDue();
    if (issued.length > 0) run.logger.info({ invoices: issued.length }, 'billing periods closed');
  },
});

export const closePeriodsSchedule: JobSchedule = { job: closePeriodsJob, cron: '5 * * * *' };
