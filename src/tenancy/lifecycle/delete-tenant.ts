// Soft-deletes the current tenant: the tenant row and every row of every registered tenant table get the
// same deleted_at in one transaction, so credentials and data disappear together or not at all,
// and every instance drops what it cached of the tenant.

import type { CacheInvalidation } from '../../cache/cache-invalidation.js';
import type { Clock } from '../../clock.js';
import type { Database } from '../../db/database.js';
import { AppError } from '../../http/problems.js';

export interface DeletedTenant {
  readonly id: string;
  readonly slug: string;
  readonly deletedAt: Date;
  /** The earliest moment the purge job removes it for good. */
  readonly purgeAfter: Date;
}

/**
 * Runs inside the request's tenant scope (app role, both isolation layers): the updates
 * below can only reach this tenant's rows. `confirmation` must repeat the slug exactly.
 */
export async function softDeleteTenant(
  db: Database,
  clock: Clock,
  invalidation: CacheInvalidation,
  retentionDays: number,
  tenantTables: ReadonlySet<string>,
  tenantId: string,
  confirmation: string,
): Promise<DeletedTenant> {
  const now = clock.now();
  return db.tenant(async (tx) => {
    // FOR UPDATE: a concurrent second delete waits, then finds the tenant gone.
    const tenant = await tx
      .selectFrom('tenants')
      .select(['id', 'slug'])
      .where('id', '=', tenantId)
      .where('deleted_at', 'is', null)
      .forUpdate()
      .executeTakeFirst();
    if (!tenant) throw new AppError('tenant-not-found');
    if (confirmation !== tenant.slug) {
      throw new AppError('validation-failed', "confirm must repeat the tenant's slug exactly", { field: 'confirm' });
    }
    // Updates, so no order is needed (purge's deletes take theirs from the foreign keys).
    for (const table of tenantTables) {
      // Rows deleted earlier keep their own deleted_at. A module's table is not in the platform's
      // row types; every tenant table has deleted_at (tenantry.tenant_table() checks).
      await tx.updateTable(table as 'memberships').set({ deleted_at: now }).where('deleted_at', 'is', null).execute();
    }
    await tx
      .updateTable('tenants')
      .set({ status: 'deleted', deleted_at: now, updated_at: now })
      .where('id', '=', tenantId)
      .execute();
    await invalidation.record(tx, { scope: 'tenant', tenantId });
    return { id: tenant.id, slug: tenant.slug, deletedAt: now, purgeAfter: new Date(now.getTime() + retentionDays * 86_400_000) };
  });
}
