// Recall computes a memory's trigram score (word_similarity, the costly part) only where it can
// change the rank: relevance is greatest(text, trigram / 2) and a trigram score is at most 1, so
// at a text score of 0.5 or more it cannot. This holds recall to the ranking of the documented
// formula computed the slow way: every live memory of the tenant that full text matches, and
// those `%>` matches when full text misses a word of the query (memory migration 0008), every
// score part of each, the weighted mean, the first `limit` — the same memories in the same
// order with the same score parts, for queries where text scores fall on both sides of 0.5
// (phrases, words far apart, near-spellings only, negations, a missed word beside a found one)
// and with the tenant's own weights.

import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MemoryTx } from '../../src/memory/memory-tables.js';
import { candidatesOf, recallQuery } from '../../src/memory/recall-repository.js';
import { asTenant, startIsolationHarness, type IsolationHarness } from '../support/isolation-harness.js';

let harness: IsolationHarness;
const NOW = new Date('2026-06-01T12:00:00Z');

// Words a query names, and near-spellings of them full-text search does not stem together.
const WORDS = ['deployment', 'invoice', 'kubernetes', 'holiday', 'migration', 'customer', 'outage', 'budget'];
const TYPOS = ['deploymnet', 'invioce', 'kubernetis', 'holliday', 'migraton', 'custommer', 'outtage', 'budgett'];
const FILLER = ['the', 'team', 'said', 'that', 'we', 'should', 'review', 'notes', 'after', 'lunch', 'with', 'care', 'today'];

beforeAll(async () => {
  harness = await startIsolationHarness();
  // 1,500 memories of A: words, their near-spellings and filler in a seeded order, so that
  // phrases, distances between words and near-spellings vary; importance, age and use vary too.
  await harness.database.admin.query(
    `INSERT INTO memories (tenant_id, id, content, importance, recall_count, reinforcement_count, created_at, updated_at, last_recalled_at)
     SELECT $1, gen_random_uuid(),
            (SELECT string_agg(CASE WHEN (g * 7 + k * 13) % 11 = 0 THEN w[1 + (g + k) % 8]
                                    WHEN (g * 5 + k * 3) % 17 = 0 THEN t[1 + (g * k) % 8]
                                    ELSE f[1 + (g * 3 + k) % 13] END, ' ')
               FROM generate_series(1, 6 + g % 14) k),
            ((g * 37) % 101) / 100.0, (g * 13) % 40, (g * 7) % 5,
            $2::timestamptz - make_interval(hours => (g * 53) % 2000),
            $2::timestamptz - make_interval(hours => (g * 31) % 900),
            CASE WHEN g % 3 = 0 THEN $2::timestamptz - make_interval(hours => (g * 11) % 300) END
       FROM generate_series(1, 1500) g,
            (SELECT $3::text[] AS w, $4::text[] AS t, $5::text[] AS f) v`,
    [harness.a.tenantId, NOW, WORDS, TYPOS, FILLER],
  );
  // And two of the words a few filler words apart, so a query of both gets text scores below 0.5
  // (0.33 one word apart) that a near-spelling's trigram score can beat.
  await harness.database.admin.query(
    `INSERT INTO memories (tenant_id, id, content, importance, recall_count, updated_at)
     SELECT $1, gen_random_uuid(),
            concat_ws(' ', CASE WHEN g % 5 = 0 THEN t[1 + g % 8] ELSE w[1 + g % 8] END,
                      array_to_string(f[1:(g / 64) % 6], ' '), w[1 + (g / 8) % 8]),
            ((g * 29) % 101) / 100.0, 20 + g % 20, $2::timestamptz - make_interval(hours => (g * 17) % 200)
       FROM generate_series(1, 768) g,
            (SELECT $3::text[] AS w, $4::text[] AS t, $5::text[] AS f) v`,
    [harness.a.tenantId, NOW, WORDS, TYPOS, FILLER],
  );
  await harness.database.admin.query('ANALYZE memories');
}, 120_000);

afterAll(() => harness.close());

/**
 * Whether full text misses a word of `q`, the slow way: a word the query looks for (not negated,
 * not `or`) that no full-text match of A holds, found word by word with plainto_tsquery. A word
 * that is only a stop word looks for nothing and counts as missed, as a query of stop words does.
 */
async function missesAWord(q: string): Promise<boolean> {
  const words = q.replace(/"/g, ' ').split(/\s+/).filter((word) => word !== '' && word !== 'or' && !word.startsWith('-'));
  const { rows } = await harness.database.admin.query<{ missed: boolean }>(
    `SELECT cardinality($3::text[]) = 0 OR EXISTS (
       SELECT FROM unnest($3::text[]) w
        WHERE NOT EXISTS (SELECT FROM memories m WHERE m.tenant_id = $1 AND m.deleted_at IS NULL
                             AND m.search @@ websearch_to_tsquery('english', $2) AND m.search @@ plainto_tsquery('english', w))) AS missed`,
    [harness.a.tenantId, q, words],
  );
  return rows[0]!.missed;
}

/** The documented ranking, the slow way: every score part of every candidate of A. */
async function rankedTheSlowWay(q: string, limit: number) {
  const trigrams = await missesAWord(q);
  const { rows } = await harness.database.admin.query(
    `WITH s AS (SELECT * FROM memory_settings WHERE tenant_id = $1 AND deleted_at IS NULL),
     w AS (SELECT coalesce((SELECT relevance_weight FROM s), 0.55)::float8 AS rel, coalesce((SELECT importance_weight FROM s), 0.2)::float8 AS imp,
                  coalesce((SELECT recency_weight FROM s), 0.15)::float8 AS rec, coalesce((SELECT frequency_weight FROM s), 0.1)::float8 AS fre,
                  coalesce((SELECT recency_half_life_hours FROM s), 168)::float8 AS half),
     parts AS (
       SELECT m.id,
              (ts_rank_cd(m.search, websearch_to_tsquery('english', $2)) / (ts_rank_cd(m.search, websearch_to_tsquery('english', $2)) + 0.1))::float8 AS text,
              word_similarity($2, m.content)::float8 AS trigram,
              power(0.5::float8, greatest(0::float8, extract(epoch FROM ($4::timestamptz - greatest(m.updated_at, m.last_recalled_at)))::float8 / 3600) / w.half) AS recency,
              least(1::float8, ln(1 + (m.recall_count + m.reinforcement_count)::float8) / ln(51::float8)) AS frequency,
              m.importance::float8 AS importance, w.*
         FROM memories m, w
        WHERE m.tenant_id = $1 AND m.deleted_at IS NULL
          AND (m.search @@ websearch_to_tsquery('english', $2) OR ($5 AND m.content %> $2))
     )
     SELECT id, text, trigram, greatest(text, trigram / 2) AS relevance,
            ((rel * greatest(text, trigram / 2) + imp * importance + rec * recency + fre * frequency) / (rel + imp + rec + fre))::float8 AS score
       FROM parts ORDER BY score DESC, id LIMIT $3`,
    [harness.a.tenantId, q, limit, NOW, trigrams],
  );
  return rows as Array<{ id: string; text: number; trigram: number; relevance: number; score: number }>;
}

async function recalled(q: string, limit: number) {
  const rows = await asTenant(harness.a, harness.bothLayers(), (tx) => recallQuery(tx as unknown as MemoryTx, q, {}, limit, NOW).execute());
  return rows.map((row) => ({ id: row.id, text: row.text_score, trigram: row.trigram_score, relevance: row.relevance_score, score: row.score }));
}

const QUERIES = [
  'deployment', // full-text matches, text >= 0.5
  'kubernetes outage', // both words, often far apart: text below 0.5
  '"customer invoice"', // a phrase
  'holiday or budget',
  'migration -outage', // a negation
  'invioce', // a near-spelling some memories hold: full text finds it, so no trigram matching
  'deploymnt', // a near-spelling no memory holds: trigrams only
  'holiday or deploymnt', // one word found, one missed: trigram matching for the query
  'the', // a stop word: full text looks for nothing, trigrams do
];

async function expectSameRanking(q: string, limit: number): Promise<number> {
  const expected = await rankedTheSlowWay(q, limit);
  const actual = await recalled(q, limit);
  expect(actual.map((row) => row.id), q).toEqual(expected.map((row) => row.id));
  for (const [i, row] of actual.entries()) {
    const want = expected[i]!;
    for (const part of ['text', 'trigram', 'relevance', 'score'] as const) expect(row[part], `${q}: ${part} of #${i}`).toBeCloseTo(want[part], 9);
  }
  return expected.length;
}

it('answers the memories the documented formula ranks first, with the same score parts, at every limit', async () => {
  let belowHalf = 0;
  for (const q of QUERIES) {
    for (const limit of [1, 10, 50]) await expectSameRanking(q, limit);
    belowHalf += (await rankedTheSlowWay(q, 50)).filter((row) => row.text > 0 && row.text < 0.5 && row.trigram / 2 > row.text).length;
  }
  // The queries do reach full-text matches whose trigram score decides their relevance.
  expect(belowHalf).toBeGreaterThan(3);
});

it('matches by trigrams only when full text misses a word of the query', async () => {
  const holding = (word: string) => (row: { content: string }) => row.content.split(' ').includes(word);
  const recalledRows = (q: string) =>
    asTenant(harness.a, harness.bothLayers(), (tx) => recallQuery(tx as unknown as MemoryTx, q, {}, 50, NOW).execute());
  // Every word found: the answer is full-text matches only, though near-spellings hold trigrams enough.
  expect(await missesAWord('deployment')).toBe(false);
  const found = await recalledRows('deployment');
  expect(found.length).toBe(50);
  expect(found.every(holding('deployment'))).toBe(true);
  // A word missed, alone or beside a found one: near-spellings are candidates, ranked by their trigram score.
  // (A memory that full text does not find for the second query, whose words trigrams do.)
  await harness.database.admin.query(`INSERT INTO memories (tenant_id, id, content) VALUES ($1, gen_random_uuid(), 'the team said holliday or deploymet today')`, [
    harness.a.tenantId,
  ]);
  for (const q of ['deploymnt', 'holiday or deploymnt']) {
    expect(await missesAWord(q)).toBe(true);
    const candidates = await asTenant(harness.a, harness.bothLayers(), (tx) =>
      tx.selectFrom(candidatesOf(tx as unknown as MemoryTx, q, {}).as('c')).selectAll('c').execute(),
    );
    const fuzzy = candidates.filter((row) => row.text_score === 0);
    expect(fuzzy.length, q).toBeGreaterThan(0);
    expect(fuzzy.every((row) => row.trigram_score! >= 0.6), q).toBe(true);
  }
});

it("ranks the same way by the tenant's own weights, relevance first or relevance last", async () => {
  for (const [relevance, importance, recency, frequency] of [
    [1, 0, 0, 0],
    [0.05, 0.6, 0.3, 0.05],
  ]) {
    await harness.database.admin.query(
      `INSERT INTO memory_settings (tenant_id, relevance_weight, importance_weight, recency_weight, frequency_weight, recency_half_life_hours, duplicate_threshold)
       VALUES ($1, $2, $3, $4, $5, 24, 0.8)
       ON CONFLICT (tenant_id) DO UPDATE SET relevance_weight = $2, importance_weight = $3, recency_weight = $4, frequency_weight = $5`,
      [harness.a.tenantId, relevance, importance, recency, frequency],
    );
    for (const q of QUERIES) await expectSameRanking(q, 10);
  }
});
