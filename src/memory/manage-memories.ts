// The rules for storing and changing memories: the plan limit is taken under the tenant's
// memories lock, a near-duplicate of the same agent's memory reinforces it instead of being
// stored twice, an idempotency key answers a retry with the memory it made, an update keeps
// the version it replaces, and forgetting is a soft delete that the metering follows.

import { sql, type RawBuilder } from 'kysely';
import type { Clock } from '../clock.js';
import { platformTx } from '../db/database.js';
import { publishRealtimeEvent } from '../realtime/realtime-event.js';
import { newId } from '../db/ids.js';
import type { Page, PageRequest } from '../db/keyset-page.js';
import { AppError } from '../http/problems.js';
import type { Actor } from '../tenancy/actor.js';
import { lockLiveAgent } from './agent-repository.js';
import { actingAgent, ownAgent, scopedFilter } from './agent-scope.js';
import { isUniqueViolation } from '../db/constraint-violation.js';
import {
  findByIdempotencyKey,
  findMemory,
  forgetMemories,
  forgetMemory,
  insertMemory,
  memoryHistory,
  nearDuplicate,
  pageMemories,
  reinforceMemory,
  updateMemory,
  type MemoryChanges,
  type MemoryFilter,
  type MemoryRow,
  type MemoryVersionRow,
} from './memory-repository.js';
import { orbitScore, weightValues } from './memory-scoring.js';
import { readMemorySettings, type MemorySettings } from './memory-settings.js';
import { embeddingRefused, NO_PGVECTOR, sqlStateOf, storeEmbedding } from './semantic-recall-repository.js';
import type { MemoryDatabase, MemoryTx } from './memory-tables.js';
import type { MemoryUsage } from './memory-usage.js';

export interface NewMemoryInput {
  readonly content: string;
  readonly importance?: number | undefined;
  readonly tags?: readonly string[] | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
  readonly agentId?: string | undefined;
  readonly idempotencyKey?: string | undefined;
  /** Stored with a new memory (not with a reinforced one): its length must be the tenant's embeddingDimension. */
  readonly embedding?: readonly number[] | undefined;
}

/** What a store did: wrote a new memory, reinforced a near-duplicate, or answered a retry. */
export type StoreOutcome =
  | { readonly outcome: 'created'; readonly memory: MemoryRow }
  | { readonly outcome: 'reinforced'; readonly memory: MemoryRow; readonly similarity: number }
  | { readonly outcome: 'replayed'; readonly memory: MemoryRow };

function notFound(): AppError {
  return new AppError('not-found', 'no memory with this id');
}

/** The same answer whether the agent never existed, was deleted or is another tenant's. */
function unknownAgent(): AppError {
  return new AppError('validation-failed', 'body.agentId is not an agent of this tenant', {
    errors: [{ field: 'body.agentId', message: 'is not an agent of this tenant' }],
  });
}

/** 400 unless the tenant has an embedding dimension and the embedding has exactly that many finite numbers. */
function assertEmbeddingFits(embedding: readonly number[], settings: MemorySettings): void {
  if (settings.embeddingDimension === null) {
    throw embeddingRefused('set embeddingDimension in PATCH /v1/memory-settings before storing embeddings');
  }
  if (embedding.length !== settings.embeddingDimension) {
    throw embeddingRefused(`the embedding has ${embedding.length} numbers; the tenant's embeddingDimension is ${settings.embeddingDimension}`);
  }
  if (!embedding.every(Number.isFinite)) throw embeddingRefused('every number of the embedding must be finite');
}

function idempotencyKeyTaken(cause?: unknown): AppError {
  return new AppError('conflict', 'this idempotency key was used by another agent', { field: 'idempotencyKey' }, { cause });
}

/** A new memory's orbit score (recency 1, no use yet) by the tenant's weights. */
function initialOrbit(settings: MemorySettings, importance: number): RawBuilder<number> {
  return orbitScore(weightValues(settings), sql<number>`${importance}::float8`, sql<number>`1::float8`, sql<number>`0::float8`);
}

/** Ids, agent and importance: a realtime event never carries a memory's content. */
function publishMemoryEvent(tx: MemoryTx, actor: Actor, type: string, memory: MemoryRow): Promise<void> {
  return publishRealtimeEvent(platformTx(tx), actor.tenantId, {
    channel: 'memories',
    type,
    data: { id: memory.id, agentId: memory.agent_id, importance: memory.importance },
    agentId: memory.agent_id,
  });
}

export class MemoryManagement {
  constructor(
    private readonly db: MemoryDatabase,
    private readonly clock: Clock,
    private readonly usage: MemoryUsage,
  ) {}

  async store(actor: Actor, input: NewMemoryInput): Promise<StoreOutcome> {
    const now = this.clock.now();
    const importance = input.importance ?? 0.5;
    // An agent's key stores for its own agent only (403 for another); its memories are its agent's.
    const agentId = ownAgent(actor, input.agentId, 'body.agentId') ?? null;
    return this.db.tenant(async (tx): Promise<StoreOutcome> => {
      // The lock first: stores of one tenant take turns, so a retry finds what its first
      // attempt wrote and a near-duplicate finds the copy a concurrent store just made.
      await this.usage.lock(tx);
      if (input.idempotencyKey !== undefined) {
        const made = await findByIdempotencyKey(tx, input.idempotencyKey);
        // Another agent's memory is not this agent's to replay (RLS hides it from an agent's key anyway).
        if (made && actingAgent(actor) !== undefined && made.agent_id !== actingAgent(actor)) throw idempotencyKeyTaken();
        if (made?.deleted_at) throw new AppError('conflict', 'the memory this idempotency key stored has been forgotten', { field: 'idempotencyKey' });
        if (made) return { outcome: 'replayed', memory: made };
      }
      if (agentId !== null && !(await lockLiveAgent(tx, agentId))) throw unknownAgent();
      const settings = await readMemorySettings(tx);
      if (input.embedding !== undefined) assertEmbeddingFits(input.embedding, settings);
      const duplicate = await nearDuplicate(tx, agentId, input.content, settings.duplicateThreshold);
      if (duplicate) {
        const reinforced = await reinforceMemory(tx, duplicate.id, importance, now);
        await publishMemoryEvent(tx, actor, 'memory.reinforced', reinforced);
        return { outcome: 'reinforced', memory: reinforced, similarity: duplicate.similarity };
      }
      await this.usage.memoryAdded(tx, actor, Buffer.byteLength(input.content, 'utf8'));
      const memory = await insertMemory(tx, {
        id: newId(),
        agentId,
        content: input.content,
        importance,
        tags: input.tags ?? [],
        metadata: input.metadata ?? {},
        idempotencyKey: input.idempotencyKey ?? null,
        orbitScore: initialOrbit(settings, importance),
      });
      if (input.embedding !== undefined) await storeEmbedding(tx, memory.id, input.embedding);
      await publishMemoryEvent(tx, actor, 'memory.created', memory);
      return { outcome: 'created', memory };
    }).catch((error: unknown) => {
      if (sqlStateOf(error) === NO_PGVECTOR) throw embeddingRefused('this database has no pgvector extension: store the memory without an embedding');
      // A key another agent's memory holds, invisible to this agent's key, meets the unique index.
      throw isUniqueViolation(error, 'memories_idempotency_key') ? idempotencyKeyTaken(error) : error;
    });
  }

  async get(actor: Actor, id: string): Promise<MemoryRow> {
    const memory = await this.db.tenant((tx) => findMemory(tx, id, actingAgent(actor)));
    if (!memory) throw notFound();
    return memory;
  }

  /** A keyset page of the filtered memories: newest first (a list) or oldest first (a timeline). */
  async list(actor: Actor, filter: MemoryFilter, page: PageRequest): Promise<Page<MemoryRow>> {
    const scoped = scopedFilter(actor, filter);
    return this.db.tenant((tx) => pageMemories(tx, scoped, page));
  }

  async update(actor: Actor, id: string, changes: MemoryChanges): Promise<MemoryRow> {
    const now = this.clock.now();
    return this.db.tenant(async (tx) => {
      // New content changes storage_bytes: the counter's lock first, as every store takes it.
      if (changes.content !== undefined) await this.usage.lock(tx);
      const memory = await updateMemory(tx, id, changes, now, actingAgent(actor));
      if (!memory) throw notFound();
      if (changes.content !== undefined) await this.usage.memoriesChanged(tx, actor);
      await publishMemoryEvent(tx, actor, 'memory.updated', memory);
      return memory;
    });
  }

  /** A page of the versions updates replaced (the current one is the memory itself); 404 for no live memory. */
  async history(actor: Actor, id: string, page: PageRequest): Promise<Page<MemoryVersionRow>> {
    return this.db.tenant(async (tx) => {
      if (!(await findMemory(tx, id, actingAgent(actor)))) throw notFound();
      return memoryHistory(tx, id, page);
    });
  }

  async forget(actor: Actor, id: string): Promise<void> {
    const now = this.clock.now();
    await this.db.tenant(async (tx) => {
      await this.usage.lock(tx);
      // Read first: the event names the memory's agent, so only that agent's connections hear of it.
      const memory = await findMemory(tx, id, actingAgent(actor));
      if (!memory || !(await forgetMemory(tx, id, now, actingAgent(actor)))) throw notFound();
      await this.usage.memoriesChanged(tx, actor);
      await publishMemoryEvent(tx, actor, 'memory.forgotten', memory);
    });
  }

  /** Forgets every live memory the filter matches; returns how many. */
  async forgetWhere(actor: Actor, requested: MemoryFilter): Promise<number> {
    const now = this.clock.now();
    const filter = scopedFilter(actor, requested);
    return this.db.tenant(async (tx) => {
      await this.usage.lock(tx);
      const forgotten = await forgetMemories(tx, filter, now);
      if (forgotten > 0) await this.usage.memoriesChanged(tx, actor);
      if (forgotten > 0) {
        // Which memories is not listed (there may be thousands): clients reload. Without an agent in the filter, agent connections do not hear of it.
        await publishRealtimeEvent(platformTx(tx), actor.tenantId, { channel: 'memories', type: 'memories.forgotten', data: { count: forgotten }, agentId: filter.agentId ?? null });
      }
      return forgotten;
    });
  }
}
