// Global identities. Email is unique case-insensitively. Nothing here proves that an account's
// holder owns its email (there is no verification): see accept-invitation.ts for what follows.
// RLS shows a unit only the user it names and the members of its tenant, never the password
// hash: the hash is read through user_credentials, by email, outside any tenant.

import { sql } from 'kysely';
import type { Tx } from '../db/database.js';
import type { UserAccount } from '../db/tables.js';

/** Every column the app role may read. */
const ACCOUNT_COLUMNS = ['id', 'email', 'name', 'status', 'created_at', 'updated_at', 'deleted_at'] as const;

export interface UserCredentials {
  readonly id: string;
  readonly status: 'active' | 'invited' | 'disabled';
  readonly passwordHash: string | null;
}

/** Identity scope with `email`: the live account with that email (case-insensitive), hash included. */
export async function findCredentialsByEmail(tx: Tx): Promise<UserCredentials | undefined> {
  const row = await tx.selectFrom('user_credentials').select(['id', 'status', 'password_hash']).executeTakeFirst();
  return row && { id: row.id, status: row.status, passwordHash: row.password_hash };
}

/** Needs a unit that names the user (`userId`) or a tenant they are a live member of. */
export function findUserById(tx: Tx, id: string): Promise<UserAccount | undefined> {
  return tx.selectFrom('users').select(ACCOUNT_COLUMNS).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
}

/**
 * Inserts the user, in a unit that names its id (`userId`), unless the email exists: undefined
 * then. Of two concurrent inserts of one email the second waits on the unique index, then
 * finds it taken.
 */
export function insertUser(
  tx: Tx,
  user: { id: string; email: string; name: string; passwordHash: string },
): Promise<UserAccount | undefined> {
  return tx
    .insertInto('users')
    .values({ id: user.id, email: user.email, name: user.name, password_hash: user.passwordHash, status: 'active' })
    .onConflict((oc) => oc.expression(sql`lower(email)`).doNothing())
    .returning(ACCOUNT_COLUMNS)
    .executeTakeFirst();
}

/**
 * Gives a placeholder left by the old invitation flow (status 'invited', no password) its
 * name and password, in a unit that names it (`userId`). Only for a placeholder that belongs
 * to no tenant any more and has no password: the caller checks both (the hash is not
 * readable here), and nothing but this sets a password on an invited user, so the status
 * still being 'invited' means it still has none.
 */
export function activatePlaceholder(
  tx: Tx,
  userId: string,
  now: Date,
  profile: { name: string; passwordHash: string },
): Promise<UserAccount | undefined> {
  return tx
    .updateTable('users')
    .set({ name: profile.name, password_hash: profile.passwordHash, status: 'active', updated_at: now })
    .where('id', '=', userId)
    .where('status', '=', 'invited')
    .where('deleted_at', 'is', null)
    .returning(ACCOUNT_COLUMNS)
    .executeTakeFirst();
}
