// The tenant job that writes an export: enqueued through the outbox in the request that asked
// for it, run in that tenant's context. A run that dies is retried and starts over (its staging
// folder and any half-written archive are replaced); the last failed attempt marks the export
// failed, so its status never stays "running" forever.

import { Type } from 'typebox';
import { Uuid } from '../../http/common-schemas.js';
import { defineTenantJob } from '../../jobs/define-job.js';
import type { PrivacyTables } from '../privacy-tables.js';
import { claimExport, markFailed, markReady, scopedTenantId } from './export-repository.js';
import { exportStorageOf, stagingDirOf } from './export-storage-of.js';
import { writeTenantArchive } from './write-archive.js';

export const EXPORT_MAX_ATTEMPTS = 3;

/** Rows per keyset page: large enough that round trips do not dominate, small enough to stay flat. */
export const EXPORT_PAGE_SIZE = 5_000;

export const exportTenantJob = defineTenantJob({
  name: 'export-tenant',
  payload: Type.Object({ exportId: Uuid }, { additionalProperties: false }),
  handler: async ({ exportId }, { db: platformDb, clock, config, modules }, run) => {
    const db = platformDb.withTables<PrivacyTables>();
    // The tenant is the envelope's, as the unit's scope holds it: never a payload field.
    const claimed = await db.tenant(async (tx) => {
      const row = await claimExport(tx, exportId);
      return row && { ...row, tenantId: await scopedTenantId(tx) };
    });
    if (!claimed) return; // done already (a redelivered message), or expired meanwhile
    try {
      const storage = exportStorageOf(config);
      const archive = await writeTenantArchive({
        db: platformDb,
        modules,
        storage,
        stagingDir: stagingDirOf(config, exportId),
        tenantId: claimed.tenantId,
        exportId,
        createdAt: claimed.created_at,
        pageSize: EXPORT_PAGE_SIZE,
      });
      const recorded = await db.tenant((tx) => markReady(tx, exportId, { ...archive, finishedAt: clock.now() }));
      // Expired or erased while it ran: the archive must not outlive its row.
      if (!recorded) await storage.remove(archive.key);
      run.logger.info({ export_id: exportId, bytes: archive.bytes, tables: archive.manifest.tables.length }, 'tenant export written');
    } catch (error) {
      if (run.attempt < EXPORT_MAX_ATTEMPTS) throw error;
      run.logger.error({ err: error, export_id: exportId }, 'tenant export failed');
      await db.tenant((tx) => markFailed(tx, exportId, 'the export could not be written; ask for a new one', clock.now()));
    }
  },
});
