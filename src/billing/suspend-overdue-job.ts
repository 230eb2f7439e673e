// Dunning's clock: every quarter hour, tenants past_due for longer than the grace period
// (TENANTRY_BILLING_GRACE_DAYS, 7 by default) are suspended, which makes them read-only.
// Re-running finds nobody new: a suspended tenant is no longer past_due.

import { Type } from 'typebox';
import { defineServiceJob } from '../jobs/define-job.js';
import type { JobSchedule } from '../jobs/jobs.js';
import { BillingState } from './billing-state.js';
import type { BillingTables } from './billing-tables.js';

export const suspendOverdueJob = defineServiceJob({
  name: 'billing-suspend-overdue',
  payload: Type.Object({}, { additionalProperties: false }),
  handler: async (_data, { db, clock, config }, run) => {
    const state = new BillingState(db.withTables<BillingTables>(), clock, config.billing.graceDays);
    const moved = await state.suspendOverdue({ kind: 'system', name: 'billing', requestId: `job:${run.jobId}` });
    if (moved.length > 0) run.logger.info({ tenants: moved.map((transition) => transition.tenantId) }, 'tenants past their grace period suspended');
  },
});

export const suspendOverdueSchedule: JobSchedule = { job: suspendOverdueJob, cron: '*/15 * * * *' };
