// SQL of a tenant's webhook endpoints. The sealed secrets are read only by the functions that
// sign or rotate (secretsOf); every other read leaves them out, so no view can carry them.

import { keysetPage, type Page, type PagePosition } from '../db/keyset-page.js';
import type { WebhookTx } from './webhook-tables.js';

export interface EndpointRow {
  id: string;
  url: string;
  description: string;
  event_types: string[] | null;
  enabled: boolean;
  overlap_ends_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const PUBLIC_COLUMNS = ['id', 'url', 'description', 'event_types', 'enabled', 'overlap_ends_at', 'created_at', 'updated_at'] as const;

/** Newest first. */
export async function listEndpoints(tx: WebhookTx, limit: number, after: PagePosition | undefined): Promise<Page<EndpointRow>> {
  return keysetPage(tx.selectFrom('webhook_endpoints').select(PUBLIC_COLUMNS).where('deleted_at', 'is', null), { at: 'created_at', id: 'id' }, { limit, sort: 'desc', after });
}

export async function findEndpoint(tx: WebhookTx, id: string): Promise<EndpointRow | undefined> {
  return tx.selectFrom('webhook_endpoints').select(PUBLIC_COLUMNS).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
}

export async function countEndpoints(tx: WebhookTx): Promise<number> {
  const row = await tx.selectFrom('webhook_endpoints').select((eb) => eb.fn.countAll<string>().as('n')).where('deleted_at', 'is', null).executeTakeFirstOrThrow();
  return Number(row.n);
}

export interface NewEndpoint {
  readonly id: string;
  readonly url: string;
  readonly description: string;
  readonly eventTypes: readonly string[] | null;
  readonly sealedSecret: string;
  readonly now: Date;
}

export async function insertEndpoint(tx: WebhookTx, endpoint: NewEndpoint): Promise<EndpointRow> {
  return tx
    .insertInto('webhook_endpoints')
    .values({
      id: endpoint.id,
      url: endpoint.url,
      description: endpoint.description,
      event_types: endpoint.eventTypes ? [...endpoint.eventTypes] : null,
      secret_ciphertext: endpoint.sealedSecret,
      created_at: endpoint.now,
      updated_at: endpoint.now,
    })
    .returning(PUBLIC_COLUMNS)
    .executeTakeFirstOrThrow();
}

export interface EndpointChanges {
  readonly url?: string | undefined;
  readonly description?: string | undefined;
  readonly eventTypes?: readonly string[] | null | undefined;
  readonly enabled?: boolean | undefined;
}

export async function updateEndpoint(tx: WebhookTx, id: string, changes: EndpointChanges, now: Date): Promise<EndpointRow | undefined> {
  return tx
    .updateTable('webhook_endpoints')
    .set({
      ...(changes.url !== undefined ? { url: changes.url } : {}),
      ...(changes.description !== undefined ? { description: changes.description } : {}),
      ...(changes.eventTypes !== undefined ? { event_types: changes.eventTypes ? [...changes.eventTypes] : null } : {}),
      ...(changes.enabled !== undefined ? { enabled: changes.enabled } : {}),
      updated_at: now,
    })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returning(PUBLIC_COLUMNS)
    .executeTakeFirst();
}

/** Soft delete; its pending deliveries fail when their next attempt finds it gone. */
export async function deleteEndpoint(tx: WebhookTx, id: string, now: Date): Promise<boolean> {
  const result = await tx.updateTable('webhook_endpoints').set({ deleted_at: now, updated_at: now }).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export interface SealedSecrets {
  readonly url: string;
  readonly enabled: boolean;
  readonly current: string;
  /** The secret a rotation replaced, while it still signs. */
  readonly previous: { readonly sealed: string; readonly expiresAt: Date } | undefined;
}

/** The live endpoint's address and sealed secrets, locked against a concurrent rotation when `forUpdate`. */
export async function secretsOf(tx: WebhookTx, id: string, forUpdate = false): Promise<SealedSecrets | undefined> {
  let query = tx
    .selectFrom('webhook_endpoints')
    .select(['url', 'enabled', 'secret_ciphertext', 'previous_secret_ciphertext', 'overlap_ends_at'])
    .where('id', '=', id)
    .where('deleted_at', 'is', null);
  if (forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) return undefined;
  const previous =
    row.previous_secret_ciphertext && row.overlap_ends_at
      ? { sealed: row.previous_secret_ciphertext, expiresAt: row.overlap_ends_at }
      : undefined;
  return { url: row.url, enabled: row.enabled, current: row.secret_ciphertext, previous };
}

export async function replaceSecret(
  tx: WebhookTx,
  id: string,
  sealed: { readonly current: string; readonly previous: string | null; readonly previousExpiresAt: Date | null },
  now: Date,
): Promise<EndpointRow | undefined> {
  return tx
    .updateTable('webhook_endpoints')
    .set({
      secret_ciphertext: sealed.current,
      previous_secret_ciphertext: sealed.previous,
      overlap_ends_at: sealed.previousExpiresAt,
      updated_at: now,
    })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returning(PUBLIC_COLUMNS)
    .executeTakeFirst();
}
