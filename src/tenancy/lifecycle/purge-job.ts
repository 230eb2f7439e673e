// The purge as a scheduled service job: once a day, and whenever someone enqueues it. It also
// forgets sign-up requests that can no longer be completed.
// The CLI (`tenantry purge`) calls purgeDeletedTenants directly.

import { Type } from 'typebox';
import { defineServiceJob } from '../../jobs/define-job.js';
import type { JobSchedule } from '../../jobs/jobs.js';
import type { AccountTables } from '../../accounts/account-tables.js';
import { unsafeDeleteStaleSignupRequests } from '../provisioning/signup-request-repository.js';
import { purgeDeletedTenants } from './purge-deleted-tenants.js';

export const purgeDeletedTenantsJob = defineServiceJob({
  name: 'purge-deleted-tenants',
  payload: Type.Object({}, { additionalProperties: false }),
  handler: async (_data, { db, clock, config, modules }, run) => {
    const { purgedTenantIds } = await purgeDeletedTenants(db, modules.tenantTables, clock, config.purgeRetentionDays, modules.personTables);
    run.logger.info({ purged: purgedTenantIds.length, tenant_ids: purgedTenantIds }, 'deleted tenants purged');
    // Sign-up requests a day past their link's expiry (or use) hold an address and a name for nothing.
    const before = new Date(clock.now().getTime() - 86_400_000);
    const forgotten = await db.withTables<AccountTables>().service('sign-up: forget requests that can no longer be completed', (tx) => unsafeDeleteStaleSignupRequests(tx, before));
    run.logger.info({ forgotten }, 'stale sign-up requests deleted');
  },
});

/** 03:17 UTC daily: off the hour, when most cron jobs pile up. */
export const purgeSchedule: JobSchedule = { job: purgeDeletedTenantsJob, cron: '17 3 * * *' };
