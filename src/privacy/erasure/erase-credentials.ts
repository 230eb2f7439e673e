// The person's credentials and global identity, which no module's declaration covers: API keys
// they created are revoked (a live key must have a creator, and nobody may keep using theirs),
// their sessions end, their user row keeps only its id, and the service-role audit and earlier
// certificates name their pseudonym instead of them. Service role, in the erasure's own unit.

import { sql } from 'kysely';
import { platformTx, type Tx } from '../../db/database.js';
import type { Tables } from '../../db/tables.js';
import type { PrivacyTables } from '../privacy-tables.js';
import { signatureOf, type Certificate } from './certificate.js';
import type { ErasedPerson } from './erased-person.js';

/** Revokes the live API keys the person created: in one tenant, or in all. Returns how many. */
export async function revokeKeysOf(tx: Tx, person: ErasedPerson, now: Date, tenantId: string | undefined): Promise<number> {
  let query = tx.updateTable('api_keys').set({ revoked_at: now }).where('created_by', '=', person.userId).where('revoked_at', 'is', null);
  if (tenantId) query = query.where('tenant_id', '=', tenantId);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export interface GlobalErasure {
  readonly sessions: number;
  readonly serviceAudit: number;
  readonly certificates: number;
}

/** The user row stays (its id may still be referenced) with nothing that identifies anyone. */
export async function eraseIdentity(tx: Tx<Tables & PrivacyTables>, key: Buffer, person: ErasedPerson, pseudonym: string, now: Date): Promise<GlobalErasure> {
  const platform = platformTx(tx);
  const sessions = await platform.deleteFrom('sessions').where('user_id', '=', person.userId).executeTakeFirst();
  await platform
    .updateTable('users')
    .set({ email: `${pseudonym}@erased.invalid`, name: '', password_hash: null, status: 'disabled', deleted_at: now, updated_at: now })
    .where('id', '=', person.userId)
    .execute();
  const audit = await sql`UPDATE service_role_audit SET actor = ${`erased:${pseudonym}`} WHERE actor = ${`user:${person.userId}`}`.execute(tx);
  // Certificates they asked for name them as requester: renamed, and signed again over the new name.
  const requested = await tx.selectFrom('erasure_certificates').selectAll().where('requested_by', '=', `user:${person.userId}`).execute();
  for (const row of requested) {
    const renamed: Certificate = {
      id: row.id,
      kind: row.kind,
      subject: row.subject,
      scopeTenant: row.scope_tenant,
      requestedBy: `erased:${pseudonym}`,
      erasedAt: row.erased_at.toISOString(),
      body: row.body as unknown as Certificate['body'],
    };
    await tx.updateTable('erasure_certificates').set({ requested_by: renamed.requestedBy, signature: signatureOf(key, renamed) }).where('id', '=', row.id).execute();
  }
  return { sessions: Number(sessions.numDeletedRows), serviceAudit: Number(audit.numAffectedRows ?? 0n), certificates: requested.length };
}
