// Waiting downgrades applied when their billing period ends: a service job every quarter hour
// (periods start on the hour). Idempotent: an applied change clears its schedule, so a re-run or
// a second instance finds nothing left. The provider was told at scheduling time.

import { Type } from 'typebox';
import { defineServiceJob } from '../../jobs/define-job.js';
import type { JobSchedule } from '../../jobs/jobs.js';
import type { BillingTables } from '../billing-tables.js';
import { PlanChanges } from './plan-changes.js';
import { localSubscriptionChanger } from './subscription-changer.js';

export const applyPlanChangesJob = defineServiceJob({
  name: 'billing-apply-plan-changes',
  payload: Type.Object({}, { additionalProperties: false }),
  handler: async (_data, { db, clock }, run) => {
    const changes = new PlanChanges(db.withTables<BillingTables>(), clock, localSubscriptionChanger);
    const applied = await changes.applyDue({ kind: 'system', name: 'billing', requestId: `job:${run.jobId}` });
    if (applied.length > 0) run.logger.info({ tenants: applied.map((change) => change.tenantId) }, 'scheduled plan changes applied');
  },
});

export const applyPlanChangesSchedule: JobSchedule = { job: applyPlanChangesJob, cron: '*/15 * * * *' };
