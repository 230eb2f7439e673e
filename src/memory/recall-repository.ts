// The recall ranking as ONE statement: the candidates (full-text match, and trigram word
// similarity when text search misses a word of the query, each found through its GIN index led
// by tenant_id, by the database function of memory migration 0008), each candidate's score
// parts, the tenant's weights (joined from memory_settings, defaults when it has no row), and
// the weighted score they are ordered by. See memory-scoring.ts and docs/memory.md.

import { sql, type InferResult, type RawBuilder } from 'kysely';
import { matching, type MemoryFilter } from './memory-repository.js';
import { frequencyScore, recallScore, relevanceScore, recencyScore, type WeightExprs } from './memory-scoring.js';
import { DEFAULT_MEMORY_SETTINGS } from './memory-settings.js';
import type { MemoryTx } from './memory-tables.js';

/** The database function that finds recall's candidates (src/db/raw-sql-allowlist.ts admits it). */
const RECALL_CANDIDATES = 'tenantry_memory.recall_text_candidates';

/** The tenant's weight for one part: its own setting, or the default. */
export function weight(column: string, fallback: number) {
  return sql<number>`coalesce(${sql.ref(`s.${column}`)}::float8, ${fallback}::float8)`;
}

/** The columns of a recalled memory, read as the app role. */
export const RECALLED_COLUMNS = [
  'memories.id',
  'memories.agent_id',
  'memories.content',
  'memories.importance',
  'memories.tags',
  'memories.metadata',
  'memories.zone',
  'memories.recall_count',
  'memories.reinforcement_count',
  'memories.created_at',
  'memories.updated_at',
] as const;

/**
 * Recency and frequency of a memory last touched at `touched` and used `uses` times, and the
 * tenant's weights (the settings joined as `s`): the parts every ranking selects beside relevance.
 */
export function rankingParts(now: Date, touched: RawBuilder<unknown>, uses: RawBuilder<unknown>) {
  const d = DEFAULT_MEMORY_SETTINGS;
  return [
    recencyScore(now, touched, weight('recency_half_life_hours', d.recencyHalfLifeHours)).as('recency_score'),
    frequencyScore(uses).as('frequency_score'),
    weight('relevance_weight', d.relevanceWeight).as('w_relevance'),
    weight('importance_weight', d.importanceWeight).as('w_importance'),
    weight('recency_weight', d.recencyWeight).as('w_recency'),
    weight('frequency_weight', d.frequencyWeight).as('w_frequency'),
  ] as const;
}

/** The weights `rankingParts` selected, read back from the subquery `r`. */
export function rankingWeights(): WeightExprs {
  return {
    relevance: sql<number>`${sql.ref('r.w_relevance')}`,
    importance: sql<number>`${sql.ref('r.w_importance')}`,
    recency: sql<number>`${sql.ref('r.w_recency')}`,
    frequency: sql<number>`${sql.ref('r.w_frequency')}`,
    halfLifeHours: weight('recency_half_life_hours', DEFAULT_MEMORY_SETTINGS.recencyHalfLifeHours),
  };
}

/**
 * The candidates of `q` that the filter matches, with their text and trigram scores and what
 * the rest of the ranking reads (importance, last written or recalled, uses), as a FROM source:
 * found by index by tenantry_memory.recall_text_candidates (memory migration 0008), which
 * confines itself to the transaction's tenant. The query layer admits this function only as a
 * FROM source. Its trigram score is NULL where it cannot change the rank (a text score of 0.5 or
 * more); recall computes it for the memories it answers with.
 */
export function candidatesOf(tx: MemoryTx, q: string, filter: MemoryFilter) {
  return tx.fn<{ id: string; text_score: number; trigram_score: number | null; importance: number; touched_at: Date; uses: number }>(RECALL_CANDIDATES, [
    sql`${q}::text`,
    sql`${filter.agentId ?? null}::uuid`,
    sql`${filter.zones?.length ? [...filter.zones] : null}::text[]`,
    sql`${filter.tags?.length ? [...filter.tags] : null}::text[]`,
    sql`${filter.since ?? null}::timestamptz`,
    sql`${filter.until ?? null}::timestamptz`,
    sql`${filter.minImportance ?? null}::real`,
  ]);
}

/** The ranking statement, unexecuted: db.tenantStatement() sends it in one round trip. */
export function recallQuery(tx: MemoryTx, q: string, filter: MemoryFilter, limit: number, now: Date) {
  // Ranked from what the function read with each candidate: no candidate's row is read again to
  // be ranked. The settings are joined as the app role.
  const candidates = tx
    .selectFrom(candidatesOf(tx, q, filter).as('c'))
    .leftJoin('memory_settings as s', (join) => join.on('s.deleted_at', 'is', null))
    .select(['c.id', 'c.text_score', 'c.trigram_score', 'c.importance', ...rankingParts(now, sql`${sql.ref('c.touched_at')}`, sql`${sql.ref('c.uses')}`)]);
  // A NULL trigram score (text >= 0.5) cannot raise relevance above text: ranked as 0.
  const relevance = relevanceScore(sql<number>`${sql.ref('r.text_score')}`, sql<number>`coalesce(${sql.ref('r.trigram_score')}, 0)`);
  const score = recallScore(rankingWeights(), relevance, sql<number>`${sql.ref('r.importance')}`, sql<number>`${sql.ref('r.recency_score')}`, sql<number>`${sql.ref('r.frequency_score')}`);
  const ranked = tx
    .selectFrom(candidates.as('r'))
    .select(['r.id', 'r.text_score', 'r.trigram_score', 'r.recency_score', 'r.frequency_score', relevance.as('relevance_score'), score.as('score')])
    .orderBy('score', 'desc')
    .orderBy('r.id')
    .limit(limit);
  // The rows of the memories answered with are read here as the app role: RLS and the query
  // filter (and the filter, again) decide which of them the answer holds. And their trigram
  // score, where the candidates left it out: word similarity is the costly part, and only these
  // few need it (for their score parts).
  return tx
    .selectFrom(ranked.as('a'))
    .innerJoin('memories', 'memories.id', 'a.id')
    .where(matching(filter))
    .select([
      ...RECALLED_COLUMNS,
      'a.text_score',
      sql<number>`coalesce(${sql.ref('a.trigram_score')}, word_similarity(${q}::text, ${sql.ref('memories.content')})::float8)`.as('trigram_score'),
      'a.recency_score',
      'a.frequency_score',
      'a.relevance_score',
      'a.score',
    ])
    .orderBy('a.score', 'desc')
    .orderBy('a.id');
}

/** A recalled memory's columns and why it ranked where it did. */
export type RecalledRow = InferResult<ReturnType<typeof recallQuery>>[number];

/** Recalled `count` more times each (grouped by count, one UPDATE per group). */
export async function reinforceRecalled(tx: MemoryTx, recalled: ReadonlyMap<string, number>, at: Date): Promise<void> {
  const byCount = new Map<number, string[]>();
  for (const [id, count] of recalled) byCount.set(count, [...(byCount.get(count) ?? []), id]);
  for (const [count, ids] of byCount) {
    await tx
      .updateTable('memories')
      .set((eb) => ({
        recall_count: eb('recall_count', '+', count),
        last_recalled_at: sql<Date>`greatest(${sql.ref('last_recalled_at')}, ${at}::timestamptz)`,
      }))
      .where('id', 'in', ids)
      .where('deleted_at', 'is', null)
      .execute();
  }
}
