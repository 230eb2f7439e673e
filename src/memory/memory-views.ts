// How agents and memories appear in answers: camelCase, instants as ISO text, and the
// columns erasure may have emptied (tags, metadata) as empty values rather than null.

import type { Static } from 'typebox';
import type { AgentRow } from './agent-repository.js';
import type { AgentView } from './agents.schemas.js';
import type { MemoryRow, MemoryVersionRow } from './memory-repository.js';
import type { MemoryVersionView, MemoryView, RecallAnswer } from './memories.schemas.js';
import type { RecalledRow } from './recall-repository.js';
import type { SemanticRecalledRow } from './semantic-recall-repository.js';

export function agentView(row: AgentRow): Static<typeof AgentView> {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    metadata: row.metadata ?? {},
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

type MemoryFieldsRow = Pick<MemoryRow, 'id' | 'agent_id' | 'content' | 'importance' | 'tags' | 'metadata' | 'zone' | 'created_at'>;

/** The fields a recalled memory shows too. */
function memoryFields(row: MemoryFieldsRow) {
  return {
    id: row.id,
    agentId: row.agent_id,
    content: row.content,
    importance: row.importance,
    tags: row.tags ?? [],
    metadata: row.metadata ?? {},
    zone: row.zone,
    createdAt: row.created_at.toISOString(),
  };
}

export function memoryView(row: MemoryRow): Static<typeof MemoryView> {
  return {
    ...memoryFields(row),
    version: row.version,
    recallCount: row.recall_count,
    reinforcementCount: row.reinforcement_count,
    lastRecalledAt: row.last_recalled_at?.toISOString() ?? null,
    updatedAt: row.updated_at.toISOString(),
  };
}

export function recalledView(row: RecalledRow): Static<typeof RecallAnswer>['data'][number] {
  return {
    memory: memoryFields(row),
    score: row.score,
    parts: {
      relevance: row.relevance_score,
      text: row.text_score,
      trigram: row.trigram_score,
      importance: row.importance,
      recency: row.recency_score,
      frequency: row.frequency_score,
    },
  };
}

export function semanticRecalledView(row: SemanticRecalledRow): Static<typeof RecallAnswer>['data'][number] {
  return {
    memory: memoryFields(row),
    score: row.score,
    parts: {
      relevance: row.relevance_score,
      text: row.text_score,
      trigram: row.trigram_score,
      importance: row.importance,
      recency: row.recency_score,
      frequency: row.frequency_score,
      vector: row.vector_score,
      textScore: row.text_recall_score,
      textRank: row.text_hit ? Number(row.text_rank) : null,
      vectorRank: row.vector_rank === null ? null : Number(row.vector_rank),
      rrf: row.score,
    },
  };
}

export function versionView(version: MemoryVersionRow): Static<typeof MemoryVersionView> {
  return {
    version: version.version,
    content: version.content,
    importance: version.importance,
    tags: version.tags ?? [],
    metadata: version.metadata ?? {},
    writtenAt: version.written_at.toISOString(),
    replacedAt: version.replaced_at.toISOString(),
  };
}
