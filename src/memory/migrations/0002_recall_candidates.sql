-- Up Migration
-- Recall's candidates, found by index under forced row-level security.
--
-- Why a function: PostgreSQL applies a query's own conditions after a row-level security
-- policy's unless their operators are LEAKPROOF (they could otherwise reveal rows the policy
-- hides, through an error or a timing). `@@` (text search) and `%>` (trigram word similarity)
-- are not, so under FORCE RLS the words never reach the GIN indexes as index conditions: every
-- live row of the tenant is read and filtered, which grows with the tenant (hundreds of ms at
-- 20k memories).
--
-- This function runs as the service role (BYPASSRLS), so the planner may use `@@` and `%>` as
-- index conditions on the GIN indexes led by tenant_id. It stays confined to one tenant because
-- it reads the tenant itself, from the transaction's app.tenant_id (the same setting the RLS
-- policies read): a caller cannot name a tenant, and an empty or missing setting matches no
-- row. It returns only ids and the two text scores; recall then reads the rows of those ids
-- from memories as the app role, under RLS and the query-layer filter, so both layers still
-- decide which rows an answer holds. The search path is pinned, and only the app role (and the
-- owner, which owns the tables anyway) may call it.

CREATE SCHEMA tenantry_memory;
REVOKE ALL ON SCHEMA tenantry_memory FROM PUBLIC;

-- The recall filters are applied here as well (and again by recall itself): the candidates of
-- a narrow recall stay few. Each filter argument is NULL when the recall does not narrow by it.
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

-- Down Migration
DROP SCHEMA tenantry_memory CASCADE;
