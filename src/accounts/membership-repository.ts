// Memberships: who belongs to a tenant and with which role. Tenant-scoped, except that a
// user can list their own memberships across tenants (identity scope, app.user_id).

import type { Tx } from '../db/database.js';
import type { Role, TenantStatus } from '../db/tables.js';

export interface UserMembership {
  tenantId: string;
  slug: string;
  name: string;
  role: Role;
  status: TenantStatus;
}

/** Live memberships of the user in live tenants; needs identity scope with that user id. */
export function listMembershipsOfUser(tx: Tx, userId: string): Promise<UserMembership[]> {
  return tx
    .selectFrom('memberships as m')
    .innerJoin('tenants as t', 't.id', 'm.tenant_id')
    .select(['t.id as tenantId', 't.slug', 't.name', 'm.role', 't.status'])
    .where('m.user_id', '=', userId)
    .where('m.deleted_at', 'is', null)
    .where('t.deleted_at', 'is', null)
    .orderBy('m.created_at')
    .execute();
}

export async function insertMembership(tx: Tx, membership: { tenantId: string; userId: string; role: Role }): Promise<void> {
  await tx
    .insertInto('memberships')
    .values({ tenant_id: membership.tenantId, user_id: membership.userId, role: membership.role })
    .execute();
}
