-- Up Migration
-- Recall's candidates, with trigram matching only for the words text search misses, and with
-- what the ranking needs, so that recall reads again by id only the rows it answers with.
--
-- Measured at 100,000 memories in a tenant among 1,000,000 (a one-word query matching ~250 of
-- them; pgbench and EXPLAIN ANALYZE, docs/benchmarks.md): the trigram arm of 0006 cost more than
-- all the rest. Its GIN scan walks posting lists that hold every tenant's rows (7-14 ms), and
-- `%>` is always rechecked, so word_similarity (30-80 us) ran on each of the ~250 memories that
-- hold the word exactly, only for `NOT search @@ query` to drop them all. Then recall read each
-- of the ~250 candidates again by primary key as the app role (~3 ms), to answer with 10.
--
-- What changes:
--
-- * The trigram arm runs only when text search misses a word of the query: when the query has
--   no word text search can look up (stop words only, negations only), or when one of the
--   lexemes the query looks for (its querytree: negated words left out) is held by none of the
--   text matches. That is what trigrams are for (names, misspellings: words stemming does not
--   find). A query whose every word text search finds is answered from its text matches alone;
--   before, memories holding a near-spelling of a found word were candidates too, ranked at half
--   their word similarity. docs/memory.md and test/memory/recall-ranking.test.ts hold the rule.
--   When the arm runs it is 0006's, unchanged. The check is a one-time filter: the trigram
--   index is not touched when it is false.
-- * The trigram score of text matches below 0.5 is computed as before (it can decide their
--   relevance); ts_rank_cd once per text match, not twice, and the query parsed once per call.
-- * It returns what the ranking reads besides the text scores: importance, when the memory was
--   last written or recalled (recency), and its uses (recalls plus reinforcements). Recall
--   ranks from these and reads by id, as the app role under both layers, only the memories it
--   answers with: RLS and the query filter still decide which rows the answer holds.
-- * PL/pgSQL with a generic plan: the statement is planned once per connection, not at every
--   call as a SQL function's is (2-5 ms of planning, more than the statement's run).
--
-- Confined, owned and granted exactly as recall_candidates (0002 says why): it reads the tenant
-- from app.tenant_id itself, and is a security definer of the service role.

DROP FUNCTION tenantry_memory.recall_text_candidates(text, uuid, text[], text[], timestamptz, timestamptz, real);

CREATE FUNCTION tenantry_memory.recall_text_candidates(
  q               text,
  agent           uuid,
  zones           text[],
  tags            text[],
  since           timestamptz,
  until           timestamptz,
  min_importance  real
)
RETURNS TABLE (id uuid, text_score float8, trigram_score float8, importance float8, touched_at timestamptz, uses integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan
ROWS 100
AS $$
DECLARE
  -- Parsed once: in a generic plan q is a parameter, and websearch_to_tsquery(q) written in the
  -- statement would be parsed and stemmed again for every row (~20 us each).
  tsq constant tsquery := websearch_to_tsquery('english'::regconfig, q);
BEGIN
  RETURN QUERY
  WITH text_arm AS MATERIALIZED (
    SELECT m.id, m.content, m.search, m.importance, greatest(m.updated_at, m.last_recalled_at) AS touched_at,
           m.recall_count + m.reinforcement_count AS uses,
           ts_rank_cd(m.search, tsq)::float8 AS rank
      FROM memories m
     WHERE m.tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
       AND m.deleted_at IS NULL
       AND m.search @@ tsq
       AND (agent IS NULL OR m.agent_id = agent)
       AND (zones IS NULL OR m.zone = ANY (zones))
       AND (recall_text_candidates.tags IS NULL OR m.tags @> recall_text_candidates.tags)
       AND (since IS NULL OR m.created_at >= since)
       AND (until IS NULL OR m.created_at < until)
       AND (min_importance IS NULL OR m.importance >= min_importance)
  ), lexemes AS (
    -- The words the query looks for, as lexemes: querytree leaves negated words out. Its text
    -- quotes each lexeme, doubling quotes and backslashes. A lexeme misread here is one no
    -- memory holds, so the trigram arm runs: a mistake costs time, never a candidate.
    SELECT replace(replace(w[1], '''''', ''''), '\\', '\') AS lexeme
      FROM regexp_matches(querytree(tsq), '''((?:[^'']|'''')*)''', 'g') w
  ), trigram_arm AS (
    -- `%>`: word similarity at or above pg_trgm.word_similarity_threshold (0.6 by default).
    SELECT m.id, m.content, m.importance, greatest(m.updated_at, m.last_recalled_at) AS touched_at,
           m.recall_count + m.reinforcement_count AS uses,
           ts_rank_cd(m.search, tsq)::float8 AS rank
      FROM memories m
     WHERE (NOT EXISTS (SELECT FROM lexemes)
            OR EXISTS (SELECT FROM lexemes l
                        WHERE NOT EXISTS (SELECT FROM text_arm t WHERE l.lexeme = ANY (tsvector_to_array(t.search)))))
       AND m.tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
       AND m.deleted_at IS NULL
       AND m.content %> q
       AND NOT (m.search @@ tsq)
       AND (agent IS NULL OR m.agent_id = agent)
       AND (zones IS NULL OR m.zone = ANY (zones))
       AND (recall_text_candidates.tags IS NULL OR m.tags @> recall_text_candidates.tags)
       AND (since IS NULL OR m.created_at >= since)
       AND (until IS NULL OR m.created_at < until)
       AND (min_importance IS NULL OR m.importance >= min_importance)
  )
  SELECT found.id, found.rank / (found.rank + 0.1),
         -- The same scores as src/memory/memory-scoring.ts; NULL where it cannot change the rank.
         CASE WHEN found.rank / (found.rank + 0.1) >= 0.5 THEN NULL ELSE word_similarity(q, found.content)::float8 END,
         found.importance::float8, found.touched_at, found.uses
    FROM (SELECT t.id, t.content, t.importance, t.touched_at, t.uses, t.rank FROM text_arm t
          UNION ALL
          SELECT g.id, g.content, g.importance, g.touched_at, g.uses, g.rank FROM trigram_arm g) found;
END
$$;

REVOKE ALL ON FUNCTION tenantry_memory.recall_text_candidates(text, uuid, text[], text[], timestamptz, timestamptz, real) FROM PUBLIC;

-- Handed to the service role as in migration 0002 (which says why it takes these steps).
DO $$
DECLARE
  migrator constant text := current_user;
  service constant text := current_setting('tenantry.service_role');
  app constant text := current_setting('tenantry.app_role');
BEGIN
  EXECUTE format('GRANT CREATE ON SCHEMA tenantry_memory TO %I', service);
  PERFORM set_config('role', 'none', true);
  EXECUTE format('ALTER FUNCTION tenantry_memory.recall_text_candidates(text, uuid, text[], text[], timestamptz, timestamptz, real) OWNER TO %I', service);
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_memory.recall_text_candidates(text, uuid, text[], text[], timestamptz, timestamptz, real) TO %I, %I', app, migrator);
  PERFORM set_config('role', migrator, true);
  EXECUTE format('REVOKE CREATE ON SCHEMA tenantry_memory FROM %I', service);
END $$;

-- Down Migration
DROP FUNCTION tenantry_memory.recall_text_candidates(text, uuid, text[], text[], timestamptz, timestamptz, real);
-- 0006's version, as that migration made it.
CREATE FUNCTION tenantry_memory.recall_text_candidates(
  q               text,
  agent           uuid,
  zones           text[],
  tags            text[],
  since           timestamptz,
  until           timestamptz,
  min_importance  real
)
RETURNS TABLE (id uuid, text_score float8, trigram_score float8)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
ROWS 100
AS $$
  WITH text_arm AS (
    SELECT m.id, m.content,
           (ts_rank_cd(m.search, websearch_to_tsquery('english'::regconfig, q))
             / (ts_rank_cd(m.search, websearch_to_tsquery('english'::regconfig, q)) + 0.1))::float8 AS text_score
      FROM memories m
     WHERE m.tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
       AND m.deleted_at IS NULL
       AND m.search @@ websearch_to_tsquery('english'::regconfig, q)
       AND (agent IS NULL OR m.agent_id = agent)
       AND (zones IS NULL OR m.zone = ANY (zones))
       AND (recall_text_candidates.tags IS NULL OR m.tags @> recall_text_candidates.tags)
       AND (since IS NULL OR m.created_at >= since)
       AND (until IS NULL OR m.created_at < until)
       AND (min_importance IS NULL OR m.importance >= min_importance)
  ), trigram_arm AS (
    -- `%>`: word similarity at or above pg_trgm.word_similarity_threshold (0.6 by default).
    SELECT m.id, m.content,
           (ts_rank_cd(m.search, websearch_to_tsquery('english'::regconfig, q))
             / (ts_rank_cd(m.search, websearch_to_tsquery('english'::regconfig, q)) + 0.1))::float8 AS text_score
      FROM memories m
     WHERE m.tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
       AND m.deleted_at IS NULL
       AND m.content %> q
       AND NOT (m.search @@ websearch_to_tsquery('english'::regconfig, q))
       AND (agent IS NULL OR m.agent_id = agent)
       AND (zones IS NULL OR m.zone = ANY (zones))
       AND (recall_text_candidates.tags IS NULL OR m.tags @> recall_text_candidates.tags)
       AND (since IS NULL OR m.created_at >= since)
       AND (until IS NULL OR m.created_at < until)
       AND (min_importance IS NULL OR m.importance >= min_importance)
  )
  SELECT found.id, found.text_score,
         -- The same scores as src/memory/memory-scoring.ts; NULL where it cannot change the rank.
         CASE WHEN found.text_score >= 0.5 THEN NULL ELSE word_similarity(q, found.content)::float8 END
    FROM (SELECT * FROM text_arm UNION ALL SELECT * FROM trigram_arm) found
$$;

REVOKE ALL ON FUNCTION tenantry_memory.recall_text_candidates(text, uuid, text[], text[], timestamptz, timestamptz, real) FROM PUBLIC;

-- Handed to the service role as in migration 0002 (which says why it takes these steps).
DO $$
DECLARE
  migrator constant text := current_user;
  service constant text := current_setting('tenantry.service_role');
  app constant text := current_setting('tenantry.app_role');
BEGIN
  EXECUTE format('GRANT CREATE ON SCHEMA tenantry_memory TO %I', service);
  PERFORM set_config('role', 'none', true);
  EXECUTE format('ALTER FUNCTION tenantry_memory.recall_text_candidates(text, uuid, text[], text[], timestamptz, timestamptz, real) OWNER TO %I', service);
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_memory.recall_text_candidates(text, uuid, text[], text[], timestamptz, timestamptz, real) TO %I, %I', app, migrator);
  PERFORM set_config('role', migrator, true);
  EXECUTE format('REVOKE CREATE ON SCHEMA tenantry_memory FROM %I', service);
END $$;

