-- Up Migration
-- Recall's text candidates, found with less work per candidate than recall_candidates (0002).
--
-- Measured at 100,000 memories in a tenant (a one-word query matching ~240 of them), the time
-- of recall went to pg_trgm's word_similarity (30-80 us for a 100-character memory), computed
-- up to three times per candidate: in the trigram arm's index recheck, again for its score, and
-- for every text match, whose trigram score cannot change its rank; and each candidate's row was
-- read three times (its arm, the function's join by id, recall's join by id). This function is
-- confined, owned and granted exactly as recall_candidates (the same reasons: 0002), with the
-- same arguments, and differs in what it computes:
--
-- * Each arm reads a candidate's row once and scores it there: no join back to memories here.
-- * The trigram arm keeps only what the text arm does not hold (`NOT search @@ query`, applied
--   after the index recheck), so a memory is scored once and the two arms need no UNION.
-- * trigram_score is NULL where it cannot change the rank: relevance is
--   greatest(text, trigram / 2) and word_similarity is at most 1, so when text >= 0.5 (one
--   covering full-text match) relevance is text whatever the trigram score. Recall computes the
--   trigram score of the few memories it answers with, for their score parts, and nothing else.
--
-- text_score is computed for every candidate, the trigram arm's too, exactly as in 0002 (a
-- phrase or a negated word can rank a row that does not match the whole query).
--
-- The tags argument is named with the function's name: in a SQL function a bare `tags` is the
-- column memories.tags, so 0002's `m.tags @> tags` compared each row with itself and its tag
-- filter never narrowed the candidates (recall's own statement applied it, so answers were
-- right, only slower).

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

-- Down Migration
DROP FUNCTION tenantry_memory.recall_text_candidates(text, uuid, text[], text[], timestamptz, timestamptz, real);
