// API key rows of the current tenant. Runs in tenant scope only: the tenant filter is not
// written here, the scoped transaction and RLS supply it.

import type { Tx } from '../../db/database.js';
import type { ApiKey, Role } from '../../db/tables.js';

export function listApiKeys(tx: Tx): Promise<ApiKey[]> {
  return tx.selectFrom('api_keys').selectAll().where('deleted_at', 'is', null).orderBy('created_at', 'desc').execute();
}

export function insertApiKey(
  tx: Tx,
  key: {
    tenantId: string;
    id: string;
    prefix: string;
    secretHash: Buffer;
    name: string;
    kind: 'user' | 'agent';
    role: Role;
    scopes: string[];
    createdBy: string | null;
    expiresAt: Date | null;
  },
): Promise<ApiKey> {
  return tx
    .insertInto('api_keys')
    .values({
      tenant_id: key.tenantId,
      id: key.id,
      prefix: key.prefix,
      secret_hash: key.secretHash,
      name: key.name,
      kind: key.kind,
      role: key.role,
      scopes: key.scopes,
      created_by: key.createdBy,
      expires_at: key.expiresAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Returns the key as revoked, or undefined when no live key has that id in this tenant. */
export function revokeApiKey(tx: Tx, id: string, now: Date): Promise<ApiKey | undefined> {
  return tx
    .updateTable('api_keys')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Marks use at most once a minute, so authentication does not write on every request. */
export async function touchApiKey(tx: Tx, id: string, now: Date): Promise<void> {
  const staleBefore = new Date(now.getTime() - 60_000);
  await tx
    .updateTable('api_keys')
    .set({ last_used_at: now })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', staleBefore)]))
    .execute();
}
