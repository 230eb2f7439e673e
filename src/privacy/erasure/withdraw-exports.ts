// Export archives made before an erasure hold the erased person's rows as they were: erasure
// withdraws them (archive removed, export marked expired) in the tenants it touched. The
// tenant can ask for a new export, which holds the erased state.

import type { Tx } from '../../db/database.js';
import type { Tables } from '../../db/tables.js';
import type { ExportStorage } from '../export/export-storage.js';
import type { PrivacyTables } from '../privacy-tables.js';

/** In the erasure's service unit. Files first: a rollback then leaves rows that answer export-gone, never a stray copy. */
export async function withdrawExports(tx: Tx<Tables & PrivacyTables>, storage: ExportStorage, tenantIds: readonly string[]): Promise<number> {
  if (tenantIds.length === 0) return 0;
  const ready = await tx
    .selectFrom('tenant_exports')
    .select(['tenant_id', 'id', 'storage_key'])
    .where('tenant_id', 'in', tenantIds)
    .where('status', 'in', ['pending', 'running', 'ready'])
    .execute();
  for (const row of ready) if (row.storage_key) await storage.remove(row.storage_key);
  for (const row of ready) {
    await tx
      .updateTable('tenant_exports')
      .set({ status: 'expired', storage_key: null, archive_sha256: null })
      .where('tenant_id', '=', row.tenant_id)
      .where('id', '=', row.id)
      .execute();
  }
  return ready.filter((row) => row.storage_key).length;
}
