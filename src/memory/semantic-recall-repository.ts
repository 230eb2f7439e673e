// Semantic recall as ONE statement: the text arm (recall's own candidates, ranked by the same
// weighted score as text recall) and the vector arm (the nearest embeddings, by the database
// function of migration 0005) joined in full, and fused by reciprocal rank fusion:
// rrf = 1/(60 + text rank) + 1/(60 + vector rank), a part counting 0 when the memory is not in
// that arm. Each answer row carries every score part: the text ones, `vector` and `rrf`.

import { sql, type InferResult } from 'kysely';
import { AppError } from '../http/problems.js';
import { matching, type MemoryFilter } from './memory-repository.js';
import { recallScore, relevanceScore } from './memory-scoring.js';
import type { MemoryTx } from './memory-tables.js';
import { candidatesOf, RECALLED_COLUMNS, rankingParts, rankingWeights } from './recall-repository.js';

/** Database functions of memory migration 0005 (src/db/raw-sql-allowlist.ts admits them). */
const VECTOR_CANDIDATES = 'tenantry_memory.vector_candidates';
const STORE_EMBEDDING = 'tenantry_memory.store_embedding';

/** Reciprocal rank fusion's constant: how much the top ranks count over the rest (the usual 60). */
export const RRF_K = 60;

/** SQLSTATEs the two functions raise: no pgvector in this database; a query of the wrong length. */
export const NO_PGVECTOR = 'TNV01';
export const WRONG_DIMENSION = 'TNV22';

/** The SQLSTATE of a PostgreSQL error, wherever it sits in the cause chain. */
export function sqlStateOf(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('TNV')) return code;
  }
  return undefined;
}

/** The vector arm: the `depth` nearest live memories the filter matches, with similarity and rank. */
function vectorCandidatesOf(tx: MemoryTx, embedding: readonly number[], filter: MemoryFilter, depth: number) {
  return tx.fn<{ id: string; vector_score: number; vector_rank: string }>(VECTOR_CANDIDATES, [
    sql`${[...embedding]}::real[]`,
    sql`${filter.agentId ?? null}::uuid`,
    sql`${filter.zones?.length ? [...filter.zones] : null}::text[]`,
    sql`${filter.tags?.length ? [...filter.tags] : null}::text[]`,
    sql`${filter.since ?? null}::timestamptz`,
    sql`${filter.until ?? null}::timestamptz`,
    sql`${filter.minImportance ?? null}::real`,
    sql`${depth}::int4`,
  ]);
}

/** How deep each arm reads: enough below the answer's limit for the fusion to reorder. */
export function armDepth(limit: number): number {
  return Math.max(limit * 4, 40);
}

/** The fused ranking statement, unexecuted: db.tenantStatement() sends it in one round trip. */
export function semanticRecallQuery(tx: MemoryTx, q: string, embedding: readonly number[], filter: MemoryFilter, limit: number, now: Date) {
  const arms = tx
    .selectFrom(candidatesOf(tx, q, filter).as('t'))
    .fullJoin(vectorCandidatesOf(tx, embedding, filter, armDepth(limit)).as('v'), (join) => join.onRef('v.id', '=', 't.id'))
    .select([
      sql<string>`coalesce(${sql.ref('t.id')}, ${sql.ref('v.id')})`.as('id'),
      sql<boolean>`${sql.ref('t.id')} IS NOT NULL`.as('text_hit'),
      sql<number>`coalesce(${sql.ref('t.text_score')}, 0)`.as('text_score'),
      sql<number>`coalesce(${sql.ref('t.trigram_score')}, 0)`.as('trigram_score'),
      sql<number | null>`${sql.ref('v.vector_score')}`.as('vector_score'),
      sql<string | null>`${sql.ref('v.vector_rank')}`.as('vector_rank'),
    ]);
  // The rows are read here as the app role: RLS and the query-layer filter (and the filter,
  // again) decide which candidates of either arm the answer holds.
  const candidates = tx
    .selectFrom(arms.as('c'))
    .innerJoin('memories', 'memories.id', 'c.id')
    .leftJoin('memory_settings as s', (join) => join.on('s.deleted_at', 'is', null))
    .where(matching(filter))
    .select([
      ...RECALLED_COLUMNS,
      'c.text_hit',
      'c.text_score',
      'c.trigram_score',
      'c.vector_score',
      'c.vector_rank',
      ...rankingParts(now, sql`greatest(${sql.ref('memories.updated_at')}, ${sql.ref('memories.last_recalled_at')})`, sql`${sql.ref('memories.recall_count')} + ${sql.ref('memories.reinforcement_count')}`),
    ]);
  const weights = rankingWeights();
  const relevance = relevanceScore(sql<number>`${sql.ref('r.text_score')}`, sql<number>`${sql.ref('r.trigram_score')}`);
  const score = recallScore(weights, relevance, sql<number>`${sql.ref('r.importance')}::float8`, sql<number>`${sql.ref('r.recency_score')}`, sql<number>`${sql.ref('r.frequency_score')}`);
  // The text arm's rank is text recall's own order (the weighted score), among text matches only.
  const scored = tx
    .selectFrom(candidates.as('r'))
    .selectAll('r')
    .select([
      relevance.as('relevance_score'),
      score.as('text_recall_score'),
      sql<string>`row_number() OVER (PARTITION BY ${sql.ref('r.text_hit')} ORDER BY ${score} DESC, ${sql.ref('r.id')})`.as('text_rank'),
    ]);
  const rrf = sql<number>`(CASE WHEN ${sql.ref('f.text_hit')} THEN 1.0 / (${RRF_K} + ${sql.ref('f.text_rank')}) ELSE 0 END
    + coalesce(1.0 / (${RRF_K} + ${sql.ref('f.vector_rank')}), 0))::float8`;
  return tx
    .selectFrom(scored.as('f'))
    .selectAll('f')
    .select(rrf.as('score'))
    .orderBy('score', 'desc')
    .orderBy('f.id')
    .limit(limit);
}

/** A memory of semantic recall, with why it ranked: the text parts, `vector_score` and the ranks. */
export type SemanticRecalledRow = InferResult<ReturnType<typeof semanticRecallQuery>>[number];

/** Stores the memory's embedding (as the app role, under both layers); the caller checked its length. */
export async function storeEmbedding(tx: MemoryTx, memoryId: string, embedding: readonly number[]): Promise<void> {
  await tx
    .selectFrom(tx.fn<{ dimension: number }>(STORE_EMBEDDING, [sql`${memoryId}::uuid`, sql`${[...embedding]}::real[]`]).as('e'))
    .select('e.dimension')
    .execute();
}

/** The problem for a store whose embedding this database cannot take. */
export function embeddingRefused(detail: string): AppError {
  return new AppError('validation-failed', detail, { field: 'body.embedding', errors: [{ field: 'body.embedding', message: detail }] });
}
