// The rollup as a scheduled service job: every minute, so a period's totals are final
// within a couple of minutes of its end.

import { defineServiceJob } from '../jobs/define-job.js';
import type { JobSchedule } from '../jobs/jobs.js';
import { rollUpUsage } from './roll-up-usage.js';

export const rollUpUsageJob = defineServiceJob('roll-up-usage', async (_data, { db }, run) => {
  const result = await rollUpUsage(db);
  run.logger.debug(result, 'usage rolled up');
});

export const rollUpUsageSchedule: JobSchedule = { job: rollUpUsageJob.name, cron: '* * * * *' };
