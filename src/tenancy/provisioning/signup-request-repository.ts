// The stored sign-up requests (accounts migration 0003): written when POST /v1/tenants is
// asked, read and used up when its link is followed. Service role only: the requester is
// nobody yet, and the link's holder is known by the token alone.

import { randomSecret, sha256 } from '../../auth/opaque-tokens.js';
import type { Tx } from '../../db/database.js';
import { newId } from '../../db/ids.js';
import type { Tables } from '../../db/tables.js';
import type { AccountTables, SignupRequestsTable } from '../../accounts/account-tables.js';
import type { Selectable } from 'kysely';

type AccountTx = Tx<Tables & AccountTables>;

export type SignupRequest = Selectable<SignupRequestsTable>;

export interface NewSignupRequest {
  readonly email: string;
  readonly ownerName: string;
  readonly passwordHash: string;
  readonly tenantName: string;
  readonly slug: string;
  readonly subdomain: string | undefined;
  readonly plan: string;
  readonly expiresAt: Date;
}

/** Returns the link's token (`su_…`): shown once, in the email; only its SHA-256 is kept. */
export async function unsafeInsertSignupRequest(tx: AccountTx, request: NewSignupRequest): Promise<string> {
  const token = `su_${randomSecret()}`;
  await tx
    .insertInto('signup_requests')
    .values({
      id: newId(),
      token_hash: sha256(token),
      email: request.email,
      owner_name: request.ownerName,
      password_hash: request.passwordHash,
      tenant_name: request.tenantName,
      slug: request.slug,
      subdomain: request.subdomain ?? null,
      plan: request.plan,
      expires_at: request.expiresAt,
    })
    .execute();
  return token;
}

/** The live request a token names (not used, not expired), without using it up. */
export function unsafeFindLiveSignupRequest(tx: AccountTx, token: string, now: Date): Promise<SignupRequest | undefined> {
  return tx
    .selectFrom('signup_requests')
    .selectAll()
    .where('token_hash', '=', sha256(token))
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
}

/** Uses the request up; false when another follower of the link did first. */
export async function unsafeUseSignupRequest(tx: AccountTx, id: string, now: Date): Promise<boolean> {
  const result = await tx.updateTable('signup_requests').set({ used_at: now }).where('id', '=', id).where('used_at', 'is', null).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Requests that can no longer be completed hold an address and a name for nothing: the purge removes them. */
export async function unsafeDeleteStaleSignupRequests(tx: AccountTx, before: Date): Promise<number> {
  const result = await tx
    .deleteFrom('signup_requests')
    .where((eb) => eb.or([eb('expires_at', '<', before), eb('used_at', '<', before)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
