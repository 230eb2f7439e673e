// The ranking statement of bench:memories' raw side: Tenantry's recall (the candidates of
// tenantry_memory.recall_candidates, the score parts and the weighted score of
// src/memory/memory-scoring.ts) written out by hand as a team would without Tenantry, run as a
// login that row-level security does not bind, with the tenant predicate written out.
// $1 tenant, $2 q, $3 limit, $4 now.

import { DEFAULT_MEMORY_SETTINGS as d } from '../../src/memory/memory-settings.js';
import { FREQUENCY_SATURATION } from '../../src/memory/memory-scoring.js';

const TSQUERY = `websearch_to_tsquery('english'::regconfig, $2::text)`;
const weight = (column: string, fallback: number) => `coalesce(s.${column}::float8, ${fallback}::float8)`;

export const RAW_RECALL_SQL = `
WITH c AS (
  SELECT id FROM memories WHERE tenant_id = $1 AND deleted_at IS NULL AND search @@ ${TSQUERY}
  UNION
  SELECT id FROM memories WHERE tenant_id = $1 AND deleted_at IS NULL AND content %> $2::text
), r AS (
  SELECT m.id, m.agent_id, m.content, m.importance, m.tags, m.metadata, m.zone, m.recall_count,
         m.reinforcement_count, m.created_at, m.updated_at,
         (ts_rank_cd(m.search, ${TSQUERY}) / (ts_rank_cd(m.search, ${TSQUERY}) + 0.1))::float8 AS text_score,
         word_similarity($2::text, m.content)::float8 AS trigram_score,
         power(0.5::float8, greatest(0::float8, extract(epoch FROM ($4::timestamptz - greatest(m.updated_at, m.last_recalled_at)))::float8 / 3600)
           / ${weight('recency_half_life_hours', d.recencyHalfLifeHours)}) AS recency_score,
         least(1::float8, ln(1 + (m.recall_count + m.reinforcement_count)::float8) / ln(${1 + FREQUENCY_SATURATION}::float8)) AS frequency_score,
         ${weight('relevance_weight', d.relevanceWeight)} AS w_relevance,
         ${weight('importance_weight', d.importanceWeight)} AS w_importance,
         ${weight('recency_weight', d.recencyWeight)} AS w_recency,
         ${weight('frequency_weight', d.frequencyWeight)} AS w_frequency
    FROM c
    JOIN memories m ON m.tenant_id = $1 AND m.id = c.id
    LEFT JOIN memory_settings s ON s.tenant_id = $1 AND s.deleted_at IS NULL
   WHERE m.deleted_at IS NULL
)
SELECT r.*, greatest(text_score, trigram_score / 2) AS relevance_score,
       ((w_relevance * greatest(text_score, trigram_score / 2) + w_importance * importance::float8
         + w_recency * recency_score + w_frequency * frequency_score)
        / (w_relevance + w_importance + w_recency + w_frequency))::float8 AS score
  FROM r
 ORDER BY score DESC, id
 LIMIT $3`;
