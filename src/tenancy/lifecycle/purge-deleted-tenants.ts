// Hard-deletes tenants soft-deleted longer than the retention period, with all their rows in
// every registered tenant table, children first. Cross-tenant by nature, so it runs as the
// audited service role.

import type { Clock } from '../../clock.js';
import type { Database } from '../../db/database.js';
import type { PersonTableDeclaration } from '../../modules/module.js';
import { deleteTenantsFromPersonTables } from './delete-from-person-tables.js';
import { deletionOrder } from './deletion-order.js';

export const PURGE_REASON = 'purge deleted tenants';

/** Tenants per transaction: bounds lock time and transaction size on a large backlog. */
const BATCH = 50;

export interface PurgeResult {
  readonly purgedTenantIds: string[];
}

/** `tenantTables`: every registered module's (services.modules.tenantTables). */
export async function purgeDeletedTenants(
  db: Database,
  tenantTables: ReadonlySet<string>,
  clock: Clock,
  retentionDays: number,
  /** services.modules.personTables: their rows made for a purged tenant (its mail) go too. */
  personTables: readonly PersonTableDeclaration[] = [],
): Promise<PurgeResult> {
  const cutoff = new Date(clock.now().getTime() - retentionDays * 86_400_000);
  const purged: string[] = [];
  // Read in the first batch's transaction: the schema does not change under a running purge.
  let order: readonly string[] | undefined;
  for (;;) {
    const batch = await db.service(PURGE_REASON, async (tx) => {
      // SKIP LOCKED: two purges at once (cron on two instances, the CLI) split the work.
      const rows = await tx
        .selectFrom('tenants')
        .select('id')
        .where('status', '=', 'deleted')
        .where('deleted_at', '<=', cutoff)
        .orderBy('deleted_at')
        .limit(BATCH)
        .forUpdate()
        .skipLocked()
        .execute();
      const ids = rows.map((row) => row.id);
      if (ids.length === 0) return ids;
      order ??= await deletionOrder(tx, tenantTables);
      for (const table of order) {
        // A module's table is not in the platform's row types; every tenant table has tenant_id.
        await tx.deleteFrom(table as 'memberships').where('tenant_id', 'in', ids).execute();
      }
      await deleteTenantsFromPersonTables(tx, personTables, ids);
      // Sessions are the users' (global), not the tenant's: they only forget it.
      await tx.updateTable('sessions').set({ active_tenant_id: null }).where('active_tenant_id', 'in', ids).execute();
      await tx.deleteFrom('tenants').where('id', 'in', ids).execute();
      return ids;
    });
    purged.push(...batch);
    if (batch.length < BATCH) return { purgedTenantIds: purged };
  }
}
