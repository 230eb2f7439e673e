// The retention of exports: a scheduled service job deletes every archive past its tenant
// export's expiry (or whose tenant was deleted) and marks the export expired. Cross-tenant by nature, so it runs as the
// audited service role. The archive is removed before its row says so: a crash in between
// leaves a row that still says "ready" with no archive (its download answers export-gone and
// the next run finishes the job), never an archive no row points at.

import { Type } from 'typebox';
import { defineServiceJob } from '../../jobs/define-job.js';
import type { JobSchedule } from '../../jobs/jobs.js';
import type { PrivacyTables } from '../privacy-tables.js';
import { exportStorageOf } from './export-storage-of.js';

export const EXPIRE_EXPORTS_REASON = 'delete tenant exports past their retention';

/** Exports per transaction. */
const BATCH = 100;

export const expireExportsJob = defineServiceJob({
  name: 'expire-tenant-exports',
  payload: Type.Object({}, { additionalProperties: false }),
  handler: async (_data, { db, clock, config }, run) => {
    const storage = exportStorageOf(config);
    let expired = 0;
    for (;;) {
      const batch = await db.withTables<PrivacyTables>().service(EXPIRE_EXPORTS_REASON, async (tx) => {
        const rows = await tx
          .selectFrom('tenant_exports')
          .select(['tenant_id', 'id', 'storage_key'])
          .where('status', 'in', ['pending', 'running', 'ready'])
          // A deleted tenant's exports go now: the purge removes rows, and would leave their archives behind.
          .where((eb) => eb.or([eb('expires_at', '<=', clock.now()), eb('deleted_at', 'is not', null)]))
          .orderBy('expires_at')
          .limit(BATCH)
          .forUpdate()
          .skipLocked()
          .execute();
        for (const row of rows) if (row.storage_key) await storage.remove(row.storage_key);
        for (const row of rows) {
          await tx
            .updateTable('tenant_exports')
            .set({ status: 'expired', storage_key: null, archive_sha256: null })
            .where('tenant_id', '=', row.tenant_id)
            .where('id', '=', row.id)
            .execute();
        }
        return rows.length;
      });
      expired += batch;
      if (batch < BATCH) break;
    }
    if (expired > 0) run.logger.info({ expired }, 'tenant exports expired');
  },
});

/** Hourly, at minute 41: an export outlives its retention by at most an hour. */
export const expireExportsSchedule: JobSchedule = { job: expireExportsJob, cron: '41 * * * *' };
