// API key rows of the current tenant. Runs in tenant scope only: the tenant filter is not
// written here, the scoped transaction and RLS supply it.

import { sql } from 'kysely';
import type { Tx } from '../../db/database.js';
import type { ApiKey, Role } from '../../db/tables.js';
import { keysetPage, type Page, type PagePosition } from '../../db/keyset-page.js';

/** Newest first, one keyset page. */
export function listApiKeys(tx: Tx, limit: number, after: PagePosition | undefined): Promise<Page<ApiKey>> {
  const query = tx.selectFrom('api_keys').selectAll().where('deleted_at', 'is', null);
  return keysetPage(query, { at: 'created_at', id: 'id' }, { limit, sort: 'desc', after });
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
    scopes: readonly string[];
    createdBy: string;
    createdByKeyId: string | null;
    expiresAt: Date | null;
    /** The agent the key acts as (kind `agent`); the module that defines agents checks it is one. */
    agentId?: string | null | undefined;
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
      scopes: [...key.scopes],
      created_by: key.createdBy,
      created_by_key_id: key.createdByKeyId,
      expires_at: key.expiresAt,
      agent_id: key.agentId ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Agent keys of the current tenant that can still be used: not revoked, not expired. The plan's
 * `agents` counts them, unless they belong to a registered agent (agent_id): the agent is what counts.
 */
export async function countLiveAgentKeys(tx: Tx, now: Date): Promise<number> {
  const row = await tx
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('kind', '=', 'agent')
    .where('agent_id', 'is', null)
    .where('revoked_at', 'is', null)
    .where('deleted_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export interface RevokedKeys {
  /** The key asked for, as revoked. */
  readonly key: ApiKey;
  /** Agent keys among it and the keys minted from it. */
  readonly agents: number;
}

/**
 * Revokes the key and every key minted from it, however deep (a leaked key must not leave
 * keys behind that it minted). Returns the key as revoked, or undefined when no live key
 * has that id in this tenant.
 */
export async function revokeApiKey(tx: Tx, id: string, now: Date): Promise<RevokedKeys | undefined> {
  const revoked = await tx
    .updateTable('api_keys')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (!revoked) return undefined;
  let agents = revoked.kind === 'agent' && revoked.agent_id === null ? 1 : 0;
  let minters = [revoked.id];
  while (minters.length > 0) {
    const minted = await tx
      .updateTable('api_keys')
      .set({ revoked_at: now })
      .where('created_by_key_id', 'in', minters)
      .where('revoked_at', 'is', null)
      .returning(['id', 'kind', 'agent_id'])
      .execute();
    minters = minted.map((key) => key.id);
    agents += minted.filter((key) => key.kind === 'agent' && key.agent_id === null).length;
  }
  return { key: revoked, agents };
}

/**
 * Stamps each key's `last_used_at` with when it was used, unless it was stamped within
 * `resolutionMs` before that or the key is revoked. A tenant's flush holds one or two keys.
 */
/**
 * The same for the keys of many tenants, in one statement (a service-role unit of work: the
 * API-call meter's flush). Each key is matched with its own tenant.
 */
export async function touchApiKeysAcross(tx: Tx, used: readonly { tenantId: string; keyId: string; at: Date }[], resolutionMs: number): Promise<void> {
  if (used.length === 0) return;
  await sql`
    UPDATE api_keys SET last_used_at = used.at
      FROM unnest(${used.map((use) => use.tenantId)}::uuid[], ${used.map((use) => use.keyId)}::uuid[],
                  ${used.map((use) => use.at.toISOString())}::timestamptz[]) AS used (tenant_id, id, at)
     WHERE api_keys.tenant_id = used.tenant_id AND api_keys.id = used.id AND api_keys.revoked_at IS NULL
       AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < used.at - make_interval(secs => ${resolutionMs / 1000}))`.execute(tx);
}

export async function touchApiKeys(tx: Tx, used: ReadonlyMap<string, Date>, resolutionMs: number): Promise<void> {
  for (const [id, at] of used) {
    await tx
      .updateTable('api_keys')
      .set({ last_used_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', new Date(at.getTime() - resolutionMs))]))
      .execute();
  }
}
