// Changing the tenant's own profile: its name (owners and admins) and its subdomain (owners
// only: it is how people reach the tenant). The subdomain follows sign-up's rules (shape,
// reserved words, unique across tenants); the change is audited and evicts cached profiles.

import { recordAudit } from '../../audit/record-audit.js';
import type { CacheInvalidation } from '../../cache/cache-invalidation.js';
import type { Clock } from '../../clock.js';
import { isUniqueViolation } from '../../db/constraint-violation.js';
import type { Database } from '../../db/database.js';
import type { Tenant } from '../../db/tables.js';
import { AppError } from '../../http/problems.js';
import type { Actor } from '../actor.js';
import { assertValidSlug } from './slug.js';

export interface TenantProfilePatch {
  readonly name?: string | undefined;
  /** null removes the subdomain. */
  readonly subdomain?: string | null | undefined;
}

export class TenantProfileUpdate {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly invalidation: CacheInvalidation,
  ) {}

  read(actor: Actor): Promise<Tenant> {
    return this.db.tenant(async (tx) => {
      const tenant = await tx.selectFrom('tenants').selectAll().where('id', '=', actor.tenantId).where('deleted_at', 'is', null).executeTakeFirst();
      if (!tenant) throw new AppError('tenant-not-found');
      return tenant;
    });
  }

  async update(actor: Actor, patch: TenantProfilePatch): Promise<Tenant> {
    if (patch.subdomain !== undefined && actor.role !== 'owner') throw new AppError('forbidden', 'only an owner can change the subdomain', { required_role: 'owner' });
    if (patch.subdomain) assertValidSlug(patch.subdomain, 'subdomain');
    const now = this.clock.now();
    return this.db.tenant(async (tx) => {
      const current = await tx.selectFrom('tenants').selectAll().where('id', '=', actor.tenantId).where('deleted_at', 'is', null).forUpdate().executeTakeFirst();
      if (!current) throw new AppError('tenant-not-found');
      const before: Record<string, unknown> = {};
      const after: Record<string, unknown> = {};
      if (patch.name !== undefined && patch.name !== current.name) [before.name, after.name] = [current.name, patch.name];
      if (patch.subdomain !== undefined && patch.subdomain !== current.subdomain) [before.subdomain, after.subdomain] = [current.subdomain, patch.subdomain];
      if (Object.keys(after).length === 0) return current;
      const updated = await tx
        .updateTable('tenants')
        .set({ ...after, updated_at: now })
        .where('id', '=', actor.tenantId)
        .returningAll()
        .executeTakeFirstOrThrow()
        .catch((error: unknown) => {
          if (isUniqueViolation(error, 'tenants_subdomain_key')) throw new AppError('subdomain-taken', `subdomain "${patch.subdomain}" is taken`);
          throw error;
        });
      await recordAudit(tx, actor, { action: 'tenant.updated', target: 'tenant', before, after });
      await this.invalidation.record(tx, { scope: 'tenant', tenantId: actor.tenantId });
      return updated;
    });
  }
}
