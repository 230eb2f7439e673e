// Members of the current tenant (memberships joined with their users). Tenant scope only.

import { sql } from 'kysely';
import type { Tx } from '../../db/database.js';
import type { Role } from '../../db/tables.js';
import { keysetPage, type Page, type PagePosition } from '../../db/keyset-page.js';

export interface MemberRow {
  userId: string;
  email: string;
  name: string;
  role: Role;
  status: string;
  joinedAt: Date;
}

function members(tx: Tx) {
  return tx
    .selectFrom('memberships as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['m.user_id as userId', 'u.email', 'u.name', 'm.role', 'u.status', 'm.created_at as joinedAt'])
    .where('m.deleted_at', 'is', null);
}

/** Oldest member first, one keyset page. */
export function listMembers(tx: Tx, limit: number, after: PagePosition | undefined): Promise<Page<MemberRow>> {
  return keysetPage(members(tx), { at: 'm.created_at', id: 'm.user_id' }, { limit, sort: 'asc', after });
}

export function findMember(tx: Tx, userId: string): Promise<MemberRow | undefined> {
  return members(tx).where('m.user_id', '=', userId).executeTakeFirst();
}

/** A live member of the current tenant with this email (case-insensitive). */
export function findMemberByEmail(tx: Tx, email: string): Promise<MemberRow | undefined> {
  return members(tx).where(sql<string>`lower(u.email)`, '=', email.toLowerCase()).executeTakeFirst();
}

/** Locks the tenant's owner rows so concurrent demotions cannot remove the last owner. */
export async function lockOwners(tx: Tx): Promise<string[]> {
  const rows = await tx
    .selectFrom('memberships')
    .select('user_id')
    .where('role', '=', 'owner')
    .where('deleted_at', 'is', null)
    .forUpdate()
    .execute();
  return rows.map((row) => row.user_id);
}

/** Adds the user, or brings back a removed membership with the new role. False if already a member. */
export async function upsertMembership(tx: Tx, tenantId: string, userId: string, role: Role, now: Date): Promise<boolean> {
  const row = await tx
    .insertInto('memberships')
    .values({ tenant_id: tenantId, user_id: userId, role })
    .onConflict((oc) =>
      oc
        .columns(['tenant_id', 'user_id'])
        .doUpdateSet({ role, deleted_at: null, updated_at: now })
        .where('memberships.deleted_at', 'is not', null),
    )
    .returning('user_id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function setRole(tx: Tx, userId: string, role: Role, now: Date): Promise<void> {
  await tx.updateTable('memberships').set({ role, updated_at: now }).where('user_id', '=', userId).where('deleted_at', 'is', null).execute();
}

export async function removeMembership(tx: Tx, userId: string, now: Date): Promise<void> {
  await tx.updateTable('memberships').set({ deleted_at: now, updated_at: now }).where('user_id', '=', userId).where('deleted_at', 'is', null).execute();
}

/** Live members of the current tenant: the seats a plan counts. */
export async function countLiveMembers(tx: Tx): Promise<number> {
  const row = await tx
    .selectFrom('memberships')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
