// The tenant_exports rows, always in the tenant's scope (the query filter adds tenant_id).

import type { Database, Tx } from '../../db/database.js';
import type { Tables } from '../../db/tables.js';
import type { PrivacyTables, TenantExportsTable } from '../privacy-tables.js';
import { sql, type Selectable } from 'kysely';

export type PrivacyTx = Tx<Tables & PrivacyTables>;
export type PrivacyDatabase = Database<Tables & PrivacyTables>;
export type ExportRow = Selectable<TenantExportsTable>;

export function findExport(tx: PrivacyTx, id: string): Promise<ExportRow | undefined> {
  return tx.selectFrom('tenant_exports').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
}

/** An export still being made: one at a time per tenant. */
export function findUnfinishedExport(tx: PrivacyTx): Promise<{ id: string } | undefined> {
  return tx.selectFrom('tenant_exports').select('id').where('status', 'in', ['pending', 'running']).where('deleted_at', 'is', null).executeTakeFirst();
}

export async function insertExport(tx: PrivacyTx, row: { id: string; requestedBy: string | null; createdAt: Date; expiresAt: Date }): Promise<ExportRow> {
  return tx
    .insertInto('tenant_exports')
    .values({ id: row.id, requested_by: row.requestedBy, created_at: row.createdAt, expires_at: row.expiresAt })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Claims the export for a run: pending, or running after a run that died. Undefined: nothing left to do. */
export function claimExport(tx: PrivacyTx, id: string): Promise<{ id: string; created_at: Date } | undefined> {
  return tx
    .updateTable('tenant_exports')
    .set({ status: 'running' })
    .where('id', '=', id)
    .where('status', 'in', ['pending', 'running'])
    .where('deleted_at', 'is', null)
    .returning(['id', 'created_at'])
    .executeTakeFirst();
}

export async function markReady(
  tx: PrivacyTx,
  id: string,
  archive: { key: string; bytes: number; sha256: string; manifest: unknown; finishedAt: Date },
): Promise<boolean> {
  const updated = await tx
    .updateTable('tenant_exports')
    .set({
      status: 'ready',
      storage_key: archive.key,
      archive_bytes: archive.bytes,
      archive_sha256: archive.sha256,
      manifest: JSON.stringify(archive.manifest),
      finished_at: archive.finishedAt,
    })
    .where('id', '=', id)
    .where('status', '=', 'running')
    .executeTakeFirst();
  return updated.numUpdatedRows > 0n;
}

export async function markFailed(tx: PrivacyTx, id: string, failure: string, finishedAt: Date): Promise<void> {
  await tx
    .updateTable('tenant_exports')
    .set({ status: 'failed', failure: failure.slice(0, 2000), finished_at: finishedAt })
    .where('id', '=', id)
    .where('status', 'in', ['pending', 'running'])
    .execute();
}

/** The tenant the unit is scoped to, as PostgreSQL holds it (app.tenant_id). */
export async function scopedTenantId(tx: PrivacyTx): Promise<string> {
  const row = await tx.selectNoFrom(sql<string>`current_setting('app.tenant_id')`.as('tenant_id')).executeTakeFirstOrThrow();
  return row.tenant_id;
}
