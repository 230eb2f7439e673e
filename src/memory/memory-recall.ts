// Recall and narrate: the ranked memories for a query (one statement, see recall-repository.ts),
// noted for reinforcement after the read, and the same recall woven into a narrative.
// Recall is text-only: vector similarity (pgvector) is not part of this module yet.

import type { Clock } from '../clock.js';
import type { Actor } from '../tenancy/actor.js';
import { scopedFilter } from './agent-scope.js';
import type { MemoryFilter } from './memory-repository.js';
import type { MemoryDatabase } from './memory-tables.js';
import { narrate, type Narrative } from './narrative.js';
import type { RecallReinforcement } from './recall-reinforcement.js';
import { recallQuery, type RecalledRow } from './recall-repository.js';

export interface RecallInput {
  readonly q: string;
  readonly filter: MemoryFilter;
  readonly limit: number;
}

export class MemoryRecall {
  constructor(
    private readonly db: MemoryDatabase,
    private readonly clock: Clock,
    private readonly reinforcement: RecallReinforcement,
  ) {}

  async recall(actor: Actor, { q, filter, limit }: RecallInput): Promise<RecalledRow[]> {
    const now = this.clock.now();
    const scoped = scopedFilter(actor, filter);
    const rows = await this.db.tenantStatement((tx) => recallQuery(tx, q, scoped, limit, now));
    this.reinforcement.note(actor.tenantId, rows.map((row) => row.id));
    return rows;
  }

  async narrate(actor: Actor, { q, filter, limit }: RecallInput): Promise<Narrative> {
    const rows = await this.recall(actor, { q, filter, limit });
    return narrate(
      q,
      rows.map((row) => ({ id: row.id, agentId: row.agent_id, content: row.content, tags: row.tags ?? [], createdAt: row.created_at, score: row.score })),
    );
  }
}
