// Invitations of the current tenant (tenant scope), and the one lookup by token that runs
// before the tenant is known (identity scope with the token's hash).

import { sql } from 'kysely';
import type { Tx } from '../../db/database.js';
import type { Role } from '../../db/tables.js';
import { keysetPage, type Page, type PagePosition } from '../../db/keyset-page.js';

export interface PendingInvitation {
  invitationId: string;
  email: string;
  role: Role;
  invitedBy: string | null;
  createdAt: Date;
  expiresAt: Date;
}

/** An invitation found by its token: still pending, unexpired, in a live tenant. */
export interface RedeemableInvitation {
  invitationId: string;
  tenantId: string;
  email: string;
  role: Role;
}

export function insertInvitation(
  tx: Tx,
  invitation: { id: string; email: string; role: Role; tokenHash: Buffer; invitedBy: string | null; expiresAt: Date },
): Promise<PendingInvitation> {
  return tx
    .insertInto('invitations')
    .values({
      id: invitation.id,
      email: invitation.email,
      role: invitation.role,
      token_hash: invitation.tokenHash,
      invited_by: invitation.invitedBy,
      expires_at: invitation.expiresAt,
    })
    .returning(['id as invitationId', 'email', 'role', 'invited_by as invitedBy', 'created_at as createdAt', 'expires_at as expiresAt'])
    .executeTakeFirstOrThrow();
}

/** Pending, unexpired invitations of the current tenant, oldest first, one keyset page. */
export function listPendingInvitations(tx: Tx, now: Date, limit: number, after: PagePosition | undefined): Promise<Page<PendingInvitation>> {
  const query = tx
    .selectFrom('invitations')
    .select(['id as invitationId', 'email', 'role', 'invited_by as invitedBy', 'created_at as createdAt', 'expires_at as expiresAt'])
    .where('accepted_at', 'is', null)
    .where('deleted_at', 'is', null)
    .where('expires_at', '>', now);
  return keysetPage(query, { at: 'created_at', id: 'id' }, { limit, sort: 'asc', after });
}

/** Open invitations of the current tenant (pending, unexpired): each holds a seat. */
export async function countOpenInvitations(tx: Tx, now: Date): Promise<number> {
  const row = await tx
    .selectFrom('invitations')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('accepted_at', 'is', null)
    .where('deleted_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Withdraws a pending invitation of the current tenant; false when there is none with this id. */
export async function withdrawInvitation(tx: Tx, id: string, now: Date): Promise<boolean> {
  const result = await tx
    .updateTable('invitations')
    .set({ deleted_at: now })
    .where('id', '=', id)
    .where('accepted_at', 'is', null)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** An expired invitation still holds its email's place (the unique index cannot see expiry): free it. */
export async function withdrawExpiredInvitationsOf(tx: Tx, email: string, now: Date): Promise<void> {
  await tx
    .updateTable('invitations')
    .set({ deleted_at: now })
    .where(sql<string>`lower(email)`, '=', email.toLowerCase())
    .where('accepted_at', 'is', null)
    .where('deleted_at', 'is', null)
    .where('expires_at', '<=', now)
    .execute();
}

/** Identity scope with `invitationTokenHash: tokenHash`: the invitation this token redeems, if any. */
export function findRedeemableInvitation(tx: Tx, tokenHash: Buffer, now: Date): Promise<RedeemableInvitation | undefined> {
  return tx
    .selectFrom('invitations as i')
    .innerJoin('tenant_registry as t', 't.id', 'i.tenant_id')
    .select(['i.id as invitationId', 'i.tenant_id as tenantId', 'i.email', 'i.role'])
    .where('i.token_hash', '=', tokenHash)
    .where('i.accepted_at', 'is', null)
    .where('i.deleted_at', 'is', null)
    .where('i.expires_at', '>', now)
    // Only live tenants are in the registry; the status is checked all the same.
    .where('t.status', '<>', 'deleted')
    .executeTakeFirst();
}

/**
 * Tenant scope: marks the invitation accepted by this user, if it is still pending and
 * unexpired. The row lock makes a second, concurrent acceptance wait and then find it taken.
 */
export async function claimInvitation(tx: Tx, id: string, userId: string, now: Date): Promise<boolean> {
  const result = await tx
    .updateTable('invitations')
    .set({ accepted_at: now, accepted_by: userId })
    .where('id', '=', id)
    .where('accepted_at', 'is', null)
    .where('deleted_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
