// The operator restores a soft-deleted tenant before the purge removes it: the tenant row and
// the rows its deletion stamped (those whose deleted_at is the tenant's own, to the
// microsecond) come back in one transaction; rows deleted on their own before stay deleted.
// A purged tenant is gone for good (404). Service role, audited in the tenant's log.

import { unsafeRecordAuditForTenant } from '../../audit/record-audit.js';
import type { CacheInvalidation } from '../../cache/cache-invalidation.js';
import type { Clock } from '../../clock.js';
import type { Database } from '../../db/database.js';
import type { Tenant } from '../../db/tables.js';
import { AppError } from '../../http/problems.js';
import type { PlatformOperator } from '../actor.js';

export interface RestoreTenantDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly invalidation: CacheInvalidation;
  readonly tenantTables: ReadonlySet<string>;
}

/**
 * The status it comes back with is `active`: what it had before deletion is not kept, and
 * an operator who restores a tenant suspended before means to suspend it again explicitly.
 */
export async function restoreTenant(deps: RestoreTenantDeps, operator: PlatformOperator, tenantId: string, reason: string): Promise<Tenant> {
  const now = deps.clock.now();
  return deps.db.service(`platform admin: restore a deleted tenant (${reason.slice(0, 200)})`, async (tx) => {
    // FOR UPDATE: a purge or a second restore running now waits, then finds it changed.
    const tenant = await tx.selectFrom('tenants').selectAll().where('id', '=', tenantId).forUpdate().executeTakeFirst();
    if (!tenant) throw new AppError('not-found', 'no tenant with this id (a purged tenant cannot be restored)');
    if (!tenant.deleted_at) throw new AppError('conflict', 'the tenant is not deleted');
    const deletedAt = tenant.deleted_at;
    for (const table of deps.tenantTables) {
      // The service role has no tenant scope: each statement names the tenant itself.
      await tx
        .updateTable(table as 'memberships')
        .set({ deleted_at: null })
        .where('tenant_id', '=', tenantId)
        .where('deleted_at', '=', deletedAt)
        .execute();
    }
    const restored = await tx
      .updateTable('tenants')
      .set({ status: 'active', deleted_at: null, updated_at: now })
      .where('id', '=', tenantId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await unsafeRecordAuditForTenant(tx, tenantId, operator, {
      action: 'tenant.restored',
      target: 'tenant',
      before: { status: tenant.status, deletedAt: deletedAt.toISOString() },
      after: { status: 'active', reason },
    });
    await deps.invalidation.record(tx, { scope: 'tenant', tenantId });
    return restored;
  });
}
