// Erasing a tenant on its owner's request: the soft delete (every row stamped, caches told, the
// slug repeated to confirm), then at once the purge the retention period would otherwise wait
// for, counted table by table into a certificate. If the purge fails after the soft delete
// committed, the tenant stays deleted and the scheduled purge removes it later (without a
// certificate); no data becomes reachable again either way.

import type { CacheInvalidation } from '../../cache/cache-invalidation.js';
import type { Clock } from '../../clock.js';
import { platformTx, type Database } from '../../db/database.js';
import type { Tables } from '../../db/tables.js';
import type { ModuleRegistry } from '../../modules/registry.js';
import { actorLabel, type Actor } from '../../tenancy/actor.js';
import { softDeleteTenant } from '../../tenancy/lifecycle/delete-tenant.js';
import { deleteTenantsFromPersonTables } from '../../tenancy/lifecycle/delete-from-person-tables.js';
import { deletionOrder } from '../../tenancy/lifecycle/deletion-order.js';
import type { ExportStorage } from '../export/export-storage.js';
import type { PrivacyTables } from '../privacy-tables.js';
import { issueCertificate, type Certificate, type TableErasure } from './certificate.js';

export const ERASE_TENANT_REASON = "erase a tenant at once on its owner's request";

export interface TenantErasureOptions {
  readonly db: Database<Tables & PrivacyTables>;
  readonly modules: ModuleRegistry;
  readonly clock: Clock;
  readonly invalidation: CacheInvalidation;
  readonly storage: ExportStorage;
  readonly key: Buffer;
  readonly retentionDays: number;
}

export class TenantErasure {
  readonly #options: TenantErasureOptions;

  constructor(options: TenantErasureOptions) {
    this.#options = options;
  }

  async erase(actor: Actor, confirmation: string): Promise<Certificate> {
    const { db, modules, clock, invalidation, storage, key, retentionDays } = this.#options;
    const tenantId = actor.tenantId;
    await softDeleteTenant(platformDbOf(db), clock, invalidation, retentionDays, modules.tenantTables, tenantId, confirmation);
    return db.service(ERASE_TENANT_REASON, async (tx) => {
      const archives = await tx.selectFrom('tenant_exports').select('storage_key').where('tenant_id', '=', tenantId).where('storage_key', 'is not', null).execute();
      // Files first: a failure below rolls the rows back, and rows pointing at removed files only answer export-gone.
      for (const { storage_key } of archives) await storage.remove(storage_key!);
      const tables: Record<string, TableErasure> = {};
      for (const table of await deletionOrder(platformTx(tx), modules.tenantTables)) {
        const deleted = await platformTx(tx).deleteFrom(table as 'memberships').where('tenant_id', '=', tenantId).executeTakeFirst();
        tables[table] = { deleted: Number(deleted.numDeletedRows), updated: 0 };
      }
      for (const [table, deleted] of Object.entries(await deleteTenantsFromPersonTables(platformTx(tx), modules.personTables, [tenantId]))) {
        tables[table] = { deleted, updated: 0 };
      }
      const sessions = await tx.updateTable('sessions').set({ active_tenant_id: null }).where('active_tenant_id', '=', tenantId).executeTakeFirst();
      await tx.deleteFrom('tenants').where('id', '=', tenantId).execute();
      tables.tenants = { deleted: 1, updated: 0 };
      tables.sessions = { deleted: 0, updated: Number(sessions.numUpdatedRows) };
      return issueCertificate(tx, key, {
        kind: 'tenant',
        subject: tenantId,
        scopeTenant: tenantId,
        requestedBy: actorLabel(actor),
        erasedAt: clock.now().toISOString(),
        body: { tables, files: archives.length },
      });
    });
  }
}

function platformDbOf(db: Database<Tables & PrivacyTables>): Database {
  return db as unknown as Database;
}
