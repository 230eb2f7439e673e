// Global identities. Email is unique case-insensitively; an invited user has no password yet.

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
  user: { email: string; name: string; passwordHash: string | null; status: 'active' | 'invited' },
): Promise<{ user: User; created: boolean }> {
  const inserted = await tx
    .insertInto('users')
    .values({ id: newId(), email: user.email, name: user.name, password_hash: user.passwordHash, status: user.status })
    .onConflict((oc) => oc.expression(sql`lower(email)`).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { user: inserted, created: true };
  const existing = await findUserByEmail(tx, user.email);
  if (!existing) throw new Error(`user ${user.email} vanished between conflict and read`);
  return { user: existing, created: false };
}

/** Redeems a one-time invitation: the invited user chooses a name and password. */
export function acceptInvitation(
  tx: Tx,
  tokenHash: Buffer,
  now: Date,
  profile: { name: string; passwordHash: string },
): Promise<User | undefined> {
  return tx
    .updateTable('users')
    .set({
      name: profile.name,
      password_hash: profile.passwordHash,
      status: 'active',
      invite_token_hash: null,
      invite_expires_at: null,
      updated_at: now,
    })
    .where('invite_token_hash', '=', tokenHash)
    .where('status', '=', 'invited')
    .where('invite_expires_at', '>', now)
    .returningAll()
    .executeTakeFirst();
}
