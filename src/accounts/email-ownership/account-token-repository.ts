// One-time account tokens (verification, password reset): random, shown once (in an email),
// stored as SHA-256, expiring, and used up by the UPDATE that redeems them, so two redemptions
// of one token cannot both succeed.

import { randomSecret, sha256 } from '../../auth/opaque-tokens.js';
import type { Tx } from '../../db/database.js';
import { newId } from '../../db/ids.js';
import type { Tables } from '../../db/tables.js';
import type { AccountTables, AccountTokenPurpose } from '../account-tables.js';

type AccountTx = Tx<Tables & AccountTables>;

const PREFIX: Record<AccountTokenPurpose, string> = { 'verify-email': 've_', 'reset-password': 'pr_' };

export interface NewAccountToken {
  readonly userId: string;
  readonly purpose: AccountTokenPurpose;
  readonly email: string;
  readonly expiresAt: Date;
}

/** In a unit that names `userId` (RLS lets it create only that user's tokens). Returns the token itself. */
export async function mintAccountToken(tx: AccountTx, token: NewAccountToken): Promise<string> {
  const secret = PREFIX[token.purpose] + randomSecret();
  await tx
    .insertInto('account_tokens')
    .values({
      id: newId(),
      user_id: token.userId,
      purpose: token.purpose,
      email: token.email,
      token_hash: sha256(secret),
      expires_at: token.expiresAt,
    })
    .execute();
  return secret;
}

export interface RedeemedToken {
  readonly userId: string;
  readonly email: string;
}

/** Service role: uses the token up if it is live; undefined for unknown, used, expired or of another purpose. */
export async function unsafeRedeemAccountToken(tx: AccountTx, purpose: AccountTokenPurpose, token: string, now: Date): Promise<RedeemedToken | undefined> {
  const row = await tx
    .updateTable('account_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', sha256(token))
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning(['user_id', 'email'])
    .executeTakeFirst();
  return row && { userId: row.user_id, email: row.email };
}

/** Service role: a used-up reset makes the user's other live reset tokens worthless too. */
export async function unsafeRetireTokens(tx: AccountTx, userId: string, purpose: AccountTokenPurpose, now: Date): Promise<void> {
  await tx.updateTable('account_tokens').set({ used_at: now }).where('user_id', '=', userId).where('purpose', '=', purpose).where('used_at', 'is', null).execute();
}

/** Service role: records that `userId` proved owning `email`. */
export async function unsafeMarkEmailVerified(tx: AccountTx, userId: string, email: string): Promise<void> {
  await tx
    .insertInto('verified_emails')
    .values({ user_id: userId, email: email.toLowerCase() })
    .onConflict((conflict) => conflict.columns(['user_id', 'email']).doNothing())
    .execute();
}

/** In a unit naming `userId` (RLS shows only that user's rows), or as the service role. */
export async function isEmailVerified(tx: AccountTx, userId: string, email: string): Promise<boolean> {
  const row = await tx
    .selectFrom('verified_emails')
    .select('user_id')
    .where('user_id', '=', userId)
    .where('email', '=', email.toLowerCase())
    .executeTakeFirst();
  return row !== undefined;
}
