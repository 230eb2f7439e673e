// The memories table's queries (and its versions'), run inside a unit of work Tenantry scoped
// to one tenant: none names the tenant, and every filter, count and sum runs in PostgreSQL.

import { sql, type Expression, type RawBuilder, type ExpressionBuilder, type Selectable, type SqlBool } from 'kysely';
import { newId } from '../db/ids.js';
import { keysetPage, keysetPageQuery, toPage, type Page, type PageRequest } from '../db/keyset-page.js';
import type { Tables } from '../db/tables.js';
import { zoneOf } from './memory-scoring.js';
import type { MemoriesTable, MemoryTables, MemoryTx, MemoryVersionsTable, Zone } from './memory-tables.js';

/** The database function that finds a store's near-duplicate (src/db/raw-sql-allowlist.ts admits it). */
const NEAR_DUPLICATE = 'tenantry_memory.near_duplicate';

export type MemoryRow = Selectable<MemoriesTable>;
export type MemoryVersionRow = Selectable<MemoryVersionsTable>;

/** What recall, the timeline, narrate and forget narrow memories by; every field optional. */
export interface MemoryFilter {
  readonly agentId?: string | undefined;
  readonly zones?: readonly Zone[] | undefined;
  /** Memories holding every one of these tags. */
  readonly tags?: readonly string[] | undefined;
  /** Created at or after. */
  readonly since?: Date | undefined;
  /** Created before. */
  readonly until?: Date | undefined;
  readonly minImportance?: number | undefined;
}

export interface NewMemory {
  readonly id: string;
  readonly agentId: string | null;
  readonly content: string;
  readonly importance: number;
  readonly tags: readonly string[];
  readonly metadata: Record<string, unknown>;
  readonly idempotencyKey: string | null;
  /** The orbit score, as an expression over the new row's values; the zone follows from it. */
  readonly orbitScore: RawBuilder<number>;
}

export interface MemoryChanges {
  readonly content?: string | undefined;
  readonly importance?: number | undefined;
  readonly tags?: readonly string[] | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
}

/** Live memories the filter matches, as one condition for a SELECT or an UPDATE. */
export function matching(filter: MemoryFilter) {
  return (eb: ExpressionBuilder<Tables & MemoryTables, 'memories'>): Expression<SqlBool> => {
    const conditions: Expression<SqlBool>[] = [eb('memories.deleted_at', 'is', null)];
    if (filter.agentId !== undefined) conditions.push(eb('memories.agent_id', '=', filter.agentId));
    if (filter.zones?.length) conditions.push(eb('memories.zone', 'in', [...filter.zones]));
    if (filter.tags?.length) conditions.push(sql<SqlBool>`${sql.ref('memories.tags')} @> ${[...filter.tags]}::text[]`);
    if (filter.since) conditions.push(eb('memories.created_at', '>=', filter.since));
    if (filter.until) conditions.push(eb('memories.created_at', '<', filter.until));
    if (filter.minImportance !== undefined) conditions.push(eb('memories.importance', '>=', filter.minImportance));
    return eb.and(conditions);
  };
}

export function insertMemory(tx: MemoryTx, memory: NewMemory): Promise<MemoryRow> {
  return tx
    .insertInto('memories')
    .values({
      id: memory.id,
      agent_id: memory.agentId,
      content: memory.content,
      importance: memory.importance,
      tags: [...memory.tags],
      metadata: JSON.stringify(memory.metadata),
      idempotency_key: memory.idempotencyKey,
      orbit_score: memory.orbitScore,
      zone: zoneOf(memory.orbitScore),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The live memory of this id; with `agentId` (an agent's key), only if it is that agent's. */
export function findMemory(tx: MemoryTx, id: string, agentId?: string): Promise<MemoryRow | undefined> {
  return tx
    .selectFrom('memories')
    .selectAll()
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .$if(agentId !== undefined, (query) => query.where('agent_id', '=', agentId!))
    .executeTakeFirst();
}

/** The memory an idempotency key made, forgotten or not (a key is never reused). */
export function findByIdempotencyKey(tx: MemoryTx, key: string): Promise<MemoryRow | undefined> {
  return tx.selectFrom('memories').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
}

/**
 * The agent's live memory most like `content` by trigram similarity, if it reaches `threshold`.
 * Found (at or above the threshold) through the trigram index by tenantry_memory.near_duplicate (migration 0003), confined
 * to the transaction's tenant; its row is read here under both isolation layers.
 */
export async function nearDuplicate(
  tx: MemoryTx,
  agentId: string | null,
  content: string,
  threshold: number,
): Promise<{ id: string; similarity: number } | undefined> {
  const candidate = tx.fn<{ id: string; similarity: number }>(NEAR_DUPLICATE, [sql`${content}::text`, sql`${agentId}::uuid`, sql`${threshold}::real`]);
  const found = await tx
    .selectFrom(candidate.as('d'))
    .innerJoin('memories', 'memories.id', 'd.id')
    .select(['memories.id', 'd.similarity'])
    .where('memories.deleted_at', 'is', null)
    .executeTakeFirst();
  return found && found.similarity >= threshold ? found : undefined;
}

/** A near-duplicate was stored again: the memory is used once more, and keeps the higher importance. */
export function reinforceMemory(tx: MemoryTx, id: string, importance: number, now: Date): Promise<MemoryRow> {
  return tx
    .updateTable('memories')
    .set((eb) => ({
      reinforcement_count: eb('reinforcement_count', '+', 1),
      importance: sql<number>`greatest(${sql.ref('importance')}, ${importance}::real)`,
      updated_at: now,
    }))
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Memories in the order they were made: a page stops at a memory's (created_at, id). */
const BY_CREATION = { at: 'memories.created_at', id: 'memories.id' } as const;

/** One keyset page of the filtered memories by creation time, unexecuted. */
export function pageMemoriesQuery(tx: MemoryTx, filter: MemoryFilter, page: PageRequest) {
  const query = tx.selectFrom('memories').selectAll('memories').where(matching(filter));
  return keysetPageQuery(query, BY_CREATION, page);
}

/** One keyset page of the filtered memories, by creation time. */
export async function pageMemories(tx: MemoryTx, filter: MemoryFilter, page: PageRequest): Promise<Page<MemoryRow>> {
  return toPage(await pageMemoriesQuery(tx, filter, page).execute(), page.limit, BY_CREATION);
}

/**
 * Replaces the memory's content, importance, tags or metadata, keeping the version it replaces
 * in memory_versions. The row is locked first, so two updates make two versions, in order.
 */
export async function updateMemory(tx: MemoryTx, id: string, changes: MemoryChanges, now: Date, agentId?: string): Promise<MemoryRow | undefined> {
  const current = await tx
    .selectFrom('memories')
    .selectAll()
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .$if(agentId !== undefined, (query) => query.where('agent_id', '=', agentId!))
    .forUpdate()
    .executeTakeFirst();
  if (!current) return undefined;
  await tx
    .insertInto('memory_versions')
    .values({
      id: newId(),
      memory_id: id,
      version: current.version,
      content: current.content,
      importance: current.importance,
      tags: current.tags,
      metadata: current.metadata === null ? null : JSON.stringify(current.metadata),
      written_at: current.updated_at,
      replaced_at: now,
    })
    .execute();
  return tx
    .updateTable('memories')
    .set({
      ...(changes.content === undefined ? {} : { content: changes.content }),
      ...(changes.importance === undefined ? {} : { importance: changes.importance }),
      ...(changes.tags === undefined ? {} : { tags: [...changes.tags] }),
      ...(changes.metadata === undefined ? {} : { metadata: JSON.stringify(changes.metadata) }),
      version: current.version + 1,
      updated_at: now,
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** One keyset page of the versions updates replaced, by when they were replaced. */
export function memoryHistory(tx: MemoryTx, id: string, page: PageRequest): Promise<Page<MemoryVersionRow>> {
  const query = tx.selectFrom('memory_versions').selectAll().where('memory_id', '=', id).where('deleted_at', 'is', null);
  return keysetPage(query, { at: 'replaced_at', id: 'id' }, page);
}

export async function forgetMemory(tx: MemoryTx, id: string, now: Date, agentId?: string): Promise<boolean> {
  const result = await tx
    .updateTable('memories')
    .set({ deleted_at: now, updated_at: now })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .$if(agentId !== undefined, (query) => query.where('agent_id', '=', agentId!))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Soft-deletes every live memory the filter matches, in one statement; returns how many. */
export async function forgetMemories(tx: MemoryTx, filter: MemoryFilter, now: Date): Promise<number> {
  const result = await tx.updateTable('memories').set({ deleted_at: now, updated_at: now }).where(matching(filter)).executeTakeFirst();
  return Number(result.numUpdatedRows);
}
