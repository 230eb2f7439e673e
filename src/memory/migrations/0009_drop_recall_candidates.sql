-- Up Migration
-- recall_candidates (0002), recall's first candidates function, has had no caller since
-- recall_text_candidates (0006) replaced it: a security definer nobody calls is only something
-- to review. Dropped; the schema, and the steps 0002 took to hand functions to the service
-- role, stay for the functions that followed.

DROP FUNCTION tenantry_memory.recall_candidates(text, uuid, text[], text[], timestamptz, timestamptz, real);

-- Down Migration
-- 0002's function, as that migration made it.
CREATE FUNCTION tenantry_memory.recall_candidates(
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
  -- Two arms, each on its own GIN index, joined by UNION (an OR would scan every row).
  WITH found AS (
    SELECT m.id FROM memories m
     WHERE m.tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
       AND m.deleted_at IS NULL
       AND m.search @@ websearch_to_tsquery('english'::regconfig, q)
    UNION
    -- `%>`: word similarity at or above pg_trgm.word_similarity_threshold (0.6 by default).
    SELECT m.id FROM memories m
     WHERE m.tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
       AND m.deleted_at IS NULL
       AND m.content %> q
  )
  SELECT m.id,
         -- The same scores as src/memory/memory-scoring.ts (textScore, trigramScore).
         (ts_rank_cd(m.search, websearch_to_tsquery('english'::regconfig, q))
           / (ts_rank_cd(m.search, websearch_to_tsquery('english'::regconfig, q)) + 0.1))::float8,
         word_similarity(q, m.content)::float8
    FROM found
    JOIN memories m ON m.tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid AND m.id = found.id
   WHERE m.deleted_at IS NULL
     AND (agent IS NULL OR m.agent_id = agent)
     AND (zones IS NULL OR m.zone = ANY (zones))
     AND (tags IS NULL OR m.tags @> tags)
     AND (since IS NULL OR m.created_at >= since)
     AND (until IS NULL OR m.created_at < until)
     AND (min_importance IS NULL OR m.importance >= min_importance)
$$;

REVOKE ALL ON FUNCTION tenantry_memory.recall_candidates(text, uuid, text[], text[], timestamptz, timestamptz, real) FROM PUBLIC;

-- Owned by the service role, so that it reads past RLS. The owner role may not give its objects
-- away to a role it cannot act as, so the ownership is handed over by the migration's login
-- (a superuser, or a login granted the owner, app and service roles), and the service role
-- holds CREATE on the schema only while it takes the function over.
DO $$
DECLARE
  migrator constant text := current_user;
  service constant text := current_setting('tenantry.service_role');
  app constant text := current_setting('tenantry.app_role');
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA tenantry_memory TO %I', app);
  EXECUTE format('GRANT CREATE ON SCHEMA tenantry_memory TO %I', service);
  PERFORM set_config('role', 'none', true);
  EXECUTE format('ALTER FUNCTION tenantry_memory.recall_candidates(text, uuid, text[], text[], timestamptz, timestamptz, real) OWNER TO %I', service);
  -- Granted by the new owner's side: a grant the old owner made would have passed to it.
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_memory.recall_candidates(text, uuid, text[], text[], timestamptz, timestamptz, real) TO %I, %I', app, migrator);
  PERFORM set_config('role', migrator, true);
  EXECUTE format('REVOKE CREATE ON SCHEMA tenantry_memory FROM %I', service);
END $$;

