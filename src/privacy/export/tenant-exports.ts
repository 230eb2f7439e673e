// The export use cases: an owner asks for an export (a row and its job, in one unit of work),
// reads its status with a signed link once it is ready, and a link holder downloads it.

import type { Readable } from 'node:stream';
import { recordAudit } from '../../audit/record-audit.js';
import type { Clock } from '../../clock.js';
import { platformTx } from '../../db/database.js';
import { newId } from '../../db/ids.js';
import { AppError } from '../../http/problems.js';
import type { Jobs } from '../../jobs/jobs.js';
import type { Actor } from '../../tenancy/actor.js';
import { enterTenant } from '../../tenancy/enter-tenant.js';
import { checkGrant, signedDownloadPath, type DownloadGrant } from './download-link.js';
import { findExport, findUnfinishedExport, insertExport, type ExportRow, type PrivacyDatabase } from './export-repository.js';
import { ArchiveMissingError, type ExportStorage } from './export-storage.js';
import { EXPORT_MAX_ATTEMPTS, exportTenantJob } from './export-tenant-job.js';

/** How long a download link works; a new GET gives a new one, never past the export's own expiry. */
export const DOWNLOAD_LINK_TTL_SECONDS = 15 * 60;

export interface ExportStatus {
  readonly row: ExportRow;
  readonly download: { readonly path: string; readonly expiresAt: Date } | undefined;
}

export interface TenantExportsOptions {
  readonly db: PrivacyDatabase;
  readonly jobs: Jobs;
  readonly clock: Clock;
  readonly storage: ExportStorage;
  readonly key: Buffer;
  readonly retentionHours: number;
}

export class TenantExports {
  readonly #options: TenantExportsOptions;

  constructor(options: TenantExportsOptions) {
    this.#options = options;
  }

  /** One export at a time per tenant: a second request while one is being made is a 409. */
  async request(actor: Actor): Promise<ExportRow> {
    const { db, jobs, clock, retentionHours } = this.#options;
    const now = clock.now();
    return db.tenant(async (tx) => {
      const unfinished = await findUnfinishedExport(tx);
      if (unfinished) throw new AppError('export-in-progress', `export ${unfinished.id} is still being written`, { export_id: unfinished.id });
      const row = await insertExport(tx, {
        id: newId(),
        requestedBy: actor.userId ?? null,
        createdAt: now,
        expiresAt: new Date(now.getTime() + retentionHours * 3_600_000),
      });
      await jobs.enqueue(tx, actor.tenantId, exportTenantJob, { exportId: row.id }, { maxAttempts: EXPORT_MAX_ATTEMPTS });
      // An export takes every row of the tenant out: a security event, audited with the request.
      await recordAudit(platformTx(tx), actor, { action: 'export.requested', target: `export:${row.id}`, before: null, after: null });
      return row;
    });
  }

  async status(actor: Actor, exportId: string): Promise<ExportStatus> {
    const { db, clock, key } = this.#options;
    const row = await db.tenant((tx) => findExport(tx, exportId));
    if (!row) throw new AppError('not-found', 'no such export');
    if (row.status !== 'ready') return { row, download: undefined };
    const nowSeconds = Math.floor(clock.now().getTime() / 1000);
    const expires = Math.min(nowSeconds + DOWNLOAD_LINK_TTL_SECONDS, Math.floor(row.expires_at.getTime() / 1000));
    const grant: DownloadGrant = { tenantId: actor.tenantId, exportId: row.id, expires };
    return { row, download: { path: signedDownloadPath(key, grant), expiresAt: new Date(expires * 1000) } };
  }

  /**
   * The archive a signed link names. The signature binds tenant, export and expiry; the row is
   * then read in that tenant's scope, so even a valid link reaches no other tenant's export.
   */
  async download(grant: DownloadGrant, signature: string): Promise<{ stream: Readable; bytes: number; row: ExportRow }> {
    const { db, clock, key, storage } = this.#options;
    const verdict = checkGrant(key, grant, signature, Math.floor(clock.now().getTime() / 1000));
    if (verdict === 'bad-signature') throw new AppError('invalid-download-link');
    if (verdict === 'expired') throw new AppError('download-link-expired');
    const row = await enterTenant({ tenantId: grant.tenantId }, () => db.tenant((tx) => findExport(tx, grant.exportId)));
    if (!row || row.status !== 'ready' || !row.storage_key || row.expires_at <= clock.now()) throw new AppError('export-gone');
    try {
      return { ...(await storage.open(row.storage_key)), row };
    } catch (error) {
      if (error instanceof ArchiveMissingError) throw new AppError('export-gone', undefined, {}, { cause: error });
      throw error;
    }
  }
}
