// Global identities. Email is unique case-insensitively. Nothing here proves that an account's
// holder owns its email (there is no verification): see accept-invitation.ts for what follows.

import { sql } from 'kysely';
import type { Tx } from '../db/database.js';
import { newId } from '../db/ids.js';
import type { User } from '../db/tables.js';

export function findUserByEmail(tx: Tx, email: string): Promise<User | undefined> {
  return tx
    .selectFrom('users')
    .selectAll()
    .where(sql<string>`lower(email)`, '=', email.toLowerCase())
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export function findUserById(tx: Tx, id: string): Promise<User | undefined> {
  return tx.selectFrom('users').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
}

/**
 * Inserts the user unless the email exists; either way returns the row that now holds the
 * email. Two concurrent sign-ups with one email end with one user, not an error.
 */
export async function insertOrFindUser(
  tx: Tx,
  user: { email: string; name: string; passwordHash: string },
): Promise<{ user: User; created: boolean }> {
  const inserted = await tx
    .insertInto('users')
    .values({ id: newId(), email: user.email, name: user.name, password_hash: user.passwordHash, status: 'active' })
    .onConflict((oc) => oc.expression(sql`lower(email)`).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { user: inserted, created: true };
  const existing = await findUserByEmail(tx, user.email);
  if (!existing) throw new Error(`user ${user.email} vanished between conflict and read`);
  return { user: existing, created: false };
}

/**
 * Gives a placeholder left by the old invitation flow (status 'invited', no password) its
 * name and password. Only for a placeholder that belongs to no tenant any more: the caller
 * checks that, so activating it admits its new holder to nothing but what they accept.
 */
export function activatePlaceholder(
  tx: Tx,
  userId: string,
  now: Date,
  profile: { name: string; passwordHash: string },
): Promise<User | undefined> {
  return tx
    .updateTable('users')
    .set({ name: profile.name, password_hash: profile.passwordHash, status: 'active', updated_at: now })
    .where('id', '=', userId)
    .where('status', '=', 'invited')
    .where('password_hash', 'is', null)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}
