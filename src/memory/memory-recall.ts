// Recall and narrate: the ranked memories for a query (one statement, see recall-repository.ts),
// noted for reinforcement after the read, and the same recall woven into a narrative. With an
// embedding, where the database has pgvector, recall is hybrid: the text ranking fused with
// vector similarity (semantic-recall-repository.ts); without pgvector it is text-only and says why.

import type { Clock } from '../clock.js';
import type { Actor } from '../tenancy/actor.js';
import { scopedFilter } from './agent-scope.js';
import type { MemoryFilter } from './memory-repository.js';
import type { MemoryDatabase } from './memory-tables.js';
import { narrate, type Narrative } from './narrative.js';
import type { RecallReinforcement } from './recall-reinforcement.js';
import { recallQuery, type RecalledRow } from './recall-repository.js';
import { embeddingRefused, NO_PGVECTOR, semanticRecallQuery, sqlStateOf, WRONG_DIMENSION, type SemanticRecalledRow } from './semantic-recall-repository.js';

export interface RecallInput {
  readonly q: string;
  readonly filter: MemoryFilter;
  readonly limit: number;
  /** The query's embedding: hybrid recall where the database has pgvector. */
  readonly embedding?: readonly number[] | undefined;
}

/** Whether vector similarity took part, and why not when it did not. */
export interface SemanticState {
  readonly available: boolean;
  readonly reason?: string | undefined;
}

export type RecallOutcome =
  | { readonly strategy: 'text'; readonly semantic: SemanticState; readonly rows: RecalledRow[] }
  | { readonly strategy: 'hybrid'; readonly semantic: SemanticState; readonly rows: SemanticRecalledRow[] };

const NO_PGVECTOR_REASON = 'this database has no pgvector extension: memories are ranked by text, importance, recency and use';
const NO_EMBEDDING_REASON = 'no embedding was sent: memories are ranked by text, importance, recency and use';
/** After the database said it has no pgvector, ask again only this much later (an extension arrives with a migration). */
const RECHECK_MS = 60_000;

export class MemoryRecall {
  /** When this process last heard that the database has no pgvector. */
  #noPgvectorAt = -Infinity;

  constructor(
    private readonly db: MemoryDatabase,
    private readonly clock: Clock,
    private readonly reinforcement: RecallReinforcement,
  ) {}

  /** Text recall: the ranked rows. */
  async recall(actor: Actor, input: RecallInput): Promise<RecalledRow[]> {
    return (await this.search(actor, { ...input, embedding: undefined })).rows as RecalledRow[];
  }

  /** Recall with what ranked it: hybrid with an embedding where pgvector exists, else text and why. */
  async search(actor: Actor, { q, filter, limit, embedding }: RecallInput): Promise<RecallOutcome> {
    const now = this.clock.now();
    const scoped = scopedFilter(actor, filter);
    if (embedding !== undefined && now.getTime() - this.#noPgvectorAt >= RECHECK_MS) {
      try {
        const rows = await this.db.tenantStatement((tx) => semanticRecallQuery(tx, q, embedding, scoped, limit, now));
        this.reinforcement.note(actor.tenantId, rows.map((row) => row.id));
        return { strategy: 'hybrid', semantic: { available: true }, rows };
      } catch (error) {
        const state = sqlStateOf(error);
        if (state === WRONG_DIMENSION) throw embeddingRefused((error as Error).message);
        if (state !== NO_PGVECTOR) throw error;
        this.#noPgvectorAt = now.getTime();
      }
    }
    const rows = await this.db.tenantStatement((tx) => recallQuery(tx, q, scoped, limit, now));
    this.reinforcement.note(actor.tenantId, rows.map((row) => row.id));
    const reason = embedding === undefined ? NO_EMBEDDING_REASON : NO_PGVECTOR_REASON;
    return { strategy: 'text', semantic: { available: false, reason }, rows };
  }

  async narrate(actor: Actor, input: RecallInput): Promise<Narrative> {
    const rows = await this.recall(actor, input);
    return narrate(
      input.q,
      rows.map((row) => ({ id: row.id, agentId: row.agent_id, content: row.content, tags: row.tags ?? [], createdAt: row.created_at, score: row.score })),
    );
  }
}
