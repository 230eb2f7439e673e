// The ranking statement of bench:memories' raw side: Tenantry's recall (the candidates of
// tenantry_memory.recall_text_candidates, memory migration 0008, the score parts and the weighted
// score of src/memory/memory-scoring.ts) written out by hand as a team would without Tenantry,
// run as a login that row-level security does not bind, with the tenant predicate written out.
// The same two arms (the trigram arm only when text search misses a word of the query; a
// trigram match the text arm holds left to it), the same trigram score left NULL where it cannot
// change the rank and computed for the answered memories only; without RLS there is no reading
// of the answered rows again by id, so each arm carries its columns.
// $1 tenant, $2 q, $3 limit, $4 now.

import { DEFAULT_MEMORY_SETTINGS as d } from '../../src/memory/memory-settings.js';
import { FREQUENCY_SATURATION } from '../../src/memory/memory-scoring.js';

const TSQUERY = `websearch_to_tsquery('english'::regconfig, $2::text)`;
const RANK = `ts_rank_cd(m.search, ${TSQUERY})::float8 AS rank`;
const COLUMNS = `id, agent_id, content, importance, tags, metadata, zone, recall_count, reinforcement_count, created_at, updated_at, last_recalled_at`;
const columnsOf = (alias: string) => COLUMNS.split(', ').map((column) => `${alias}.${column}`).join(', ');
const weight = (column: string, fallback: number) => `coalesce(s.${column}::float8, ${fallback}::float8)`;
/** The lexemes the query looks for (querytree leaves negated words out), unquoted. */
const LEXEMES = String.raw`SELECT replace(replace(w[1], '''''', ''''), '\\', '\') AS lexeme
    FROM regexp_matches(querytree(${TSQUERY}), '''((?:[^'']|'''')*)''', 'g') w`;

export const RAW_RECALL_SQL = `
WITH t AS MATERIALIZED (
  SELECT ${columnsOf('m')}, m.search, ${RANK} FROM memories m WHERE m.tenant_id = $1 AND m.deleted_at IS NULL AND m.search @@ ${TSQUERY}
), lexemes AS (
  ${LEXEMES}
), c AS (
  SELECT ${columnsOf('t')}, t.rank FROM t
  UNION ALL
  SELECT ${columnsOf('m')}, ${RANK} FROM memories m
   WHERE (NOT EXISTS (SELECT FROM lexemes)
          OR EXISTS (SELECT FROM lexemes l WHERE NOT EXISTS (SELECT FROM t WHERE l.lexeme = ANY (tsvector_to_array(t.search)))))
     AND m.tenant_id = $1 AND m.deleted_at IS NULL AND m.content %> $2::text AND NOT (m.search @@ ${TSQUERY})
), r AS (
  SELECT c.id, c.agent_id, c.content, c.importance, c.tags, c.metadata, c.zone, c.recall_count,
         c.reinforcement_count, c.created_at, c.updated_at, c.rank / (c.rank + 0.1) AS text_score,
         CASE WHEN c.rank / (c.rank + 0.1) >= 0.5 THEN NULL ELSE word_similarity($2::text, c.content)::float8 END AS trigram_score,
         power(0.5::float8, greatest(0::float8, extract(epoch FROM ($4::timestamptz - greatest(c.updated_at, c.last_recalled_at)))::float8 / 3600)
           / ${weight('recency_half_life_hours', d.recencyHalfLifeHours)}) AS recency_score,
         least(1::float8, ln(1 + (c.recall_count + c.reinforcement_count)::float8) / ln(${1 + FREQUENCY_SATURATION}::float8)) AS frequency_score,
         ${weight('relevance_weight', d.relevanceWeight)} AS w_relevance,
         ${weight('importance_weight', d.importanceWeight)} AS w_importance,
         ${weight('recency_weight', d.recencyWeight)} AS w_recency,
         ${weight('frequency_weight', d.frequencyWeight)} AS w_frequency
    FROM c
    LEFT JOIN memory_settings s ON s.tenant_id = $1 AND s.deleted_at IS NULL
), a AS (
  SELECT r.*, greatest(text_score, coalesce(trigram_score, 0) / 2) AS relevance_score,
         ((w_relevance * greatest(text_score, coalesce(trigram_score, 0) / 2) + w_importance * importance::float8
           + w_recency * recency_score + w_frequency * frequency_score)
          / (w_relevance + w_importance + w_recency + w_frequency))::float8 AS score
    FROM r
   ORDER BY score DESC, id
   LIMIT $3
)
SELECT a.id, a.agent_id, a.content, a.importance, a.tags, a.metadata, a.zone, a.recall_count,
       a.reinforcement_count, a.created_at, a.updated_at, a.text_score,
       coalesce(a.trigram_score, word_similarity($2::text, a.content)::float8) AS trigram_score,
       a.recency_score, a.frequency_score, a.relevance_score, a.score
  FROM a
 ORDER BY a.score DESC, a.id`;
