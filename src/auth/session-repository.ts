// Refresh-token sessions. Each refresh rotates the token within its family; presenting an
// already-rotated token is treated as theft and revokes the whole family. RLS shows a unit
// only the session of the refresh token it names, or the family of the user it names, and
// lets it write only that user's sessions (migration 0010).

import type { Tx } from '../db/database.js';
import { newId } from '../db/ids.js';

export interface SessionRow {
  id: string;
  family_id: string;
  user_id: string;
  active_tenant_id: string | null;
  expires_at: Date;
  rotated_at: Date | null;
  revoked_at: Date | null;
}

export async function insertSession(
  tx: Tx,
  session: { familyId: string; tokenHash: Buffer; userId: string; activeTenantId: string | null; expiresAt: Date },
): Promise<void> {
  await tx
    .insertInto('sessions')
    .values({
      id: newId(),
      family_id: session.familyId,
      token_hash: session.tokenHash,
      user_id: session.userId,
      active_tenant_id: session.activeTenantId,
      expires_at: session.expiresAt,
    })
    .execute();
}

/** Identity scope with `refreshTokenHash`: whose session, of which family, the token is. */
export function findSessionOwner(tx: Tx, tokenHash: Buffer): Promise<{ user_id: string; family_id: string } | undefined> {
  return tx.selectFrom('sessions').select(['user_id', 'family_id']).where('token_hash', '=', tokenHash).executeTakeFirst();
}

/** Locks the row so two concurrent refreshes of one token cannot both succeed. */
export function findSessionForUpdate(tx: Tx, tokenHash: Buffer): Promise<SessionRow | undefined> {
  return tx
    .selectFrom('sessions')
    .select(['id', 'family_id', 'user_id', 'active_tenant_id', 'expires_at', 'rotated_at', 'revoked_at'])
    .where('token_hash', '=', tokenHash)
    .forUpdate()
    .executeTakeFirst();
}

export async function markRotated(tx: Tx, id: string, now: Date): Promise<void> {
  await tx.updateTable('sessions').set({ rotated_at: now }).where('id', '=', id).execute();
}

export async function revokeFamily(tx: Tx, familyId: string, now: Date): Promise<void> {
  await tx
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .execute();
}
