// The purge as a scheduled service job: once a day, and whenever someone enqueues it.
// The CLI (`tenantry purge`) calls purgeDeletedTenants directly.

import { Type } from 'typebox';
import { defineServiceJob } from '../../jobs/define-job.js';
import type { JobSchedule } from '../../jobs/jobs.js';
import { purgeDeletedTenants } from './purge-deleted-tenants.js';

export const purgeDeletedTenantsJob = defineServiceJob({
  name: 'purge-deleted-tenants',
  payload: Type.Object({}, { additionalProperties: false }),
  handler: async (_data, { db, clock, config, modules }, run) => {
    const { purgedTenantIds } = await purgeDeletedTenants(db, modules.tenantTables, clock, config.purgeRetentionDays, modules.personTables);
    run.logger.info({ purged: purgedTenantIds.length, tenant_ids: purgedTenantIds }, 'deleted tenants purged');
  },
});

/** 03:17 UTC daily: off the hour, when most cron jobs pile up. */
export const purgeSchedule: JobSchedule = { job: purgeDeletedTenantsJob, cron: '17 3 * * *' };
