// The rollup as a scheduled service job: every minute, so a period's totals are final
// within a couple of minutes of its end. A backlog is worked off a batch per transaction.

import { Type } from 'typebox';
import { defineServiceJob } from '../jobs/define-job.js';
import type { JobSchedule } from '../jobs/jobs.js';
import { ROLLUP_BATCH, rollUpUsage } from './roll-up-usage.js';
import { observeRollup } from './rollup-lag.js';

/** Batches per job at most, so one job cannot run for ever; the next minute's job goes on. */
const MAX_BATCHES_PER_JOB = 20;

export const rollUpUsageJob = defineServiceJob({
  name: 'roll-up-usage',
  payload: Type.Object({}, { additionalProperties: false }),
  handler: async (_data, { db }, run) => {
    let result = await rollUpUsage(db);
    let events = result.events;
    for (let batches = 1; result.claimed >= ROLLUP_BATCH && batches < MAX_BATCHES_PER_JOB; batches++) {
      result = await rollUpUsage(db);
      events += result.events;
    }
    observeRollup(result, run.logger);
    run.logger.debug({ events, pending: result.pending, lag_seconds: result.lagSeconds }, 'usage rolled up');
  },
});

export const rollUpUsageSchedule: JobSchedule = { job: rollUpUsageJob, cron: '* * * * *' };
