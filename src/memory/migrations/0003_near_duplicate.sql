-- Up Migration
-- A store's near-duplicate, found by index under forced row-level security: the same reason and
-- the same confinement as recall_candidates (migration 0002). `%` (trigram similarity) is not
-- LEAKPROOF, so read as the app role it never reaches the trigram index and every live memory of
-- the tenant was compared, under the tenant's store lock. This function, run as the service role,
-- finds the agent's most similar live memory at or above the tenant's duplicate threshold
-- through the GIN index led by tenant_id, in the tenant of the transaction's app.tenant_id only
-- (none without it), and returns its id and similarity; the store then reads and reinforces
-- that memory as the app role, under both layers.

-- The SET clause below names pg_trgm's setting, which exists only once this session has loaded
-- pg_trgm's library; until then it is a placeholder that only a superuser may name. Creating
-- the extension loads it, but when the extension was there already (created by a superuser
-- ahead of a non-superuser migrator, or this migration reverted and run again) nothing has:
-- calling one of its functions does.
SELECT show_limit();

CREATE FUNCTION tenantry_memory.near_duplicate(candidate text, agent uuid, threshold real)
RETURNS TABLE (id uuid, similarity float8)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
-- Restored when the function returns: the threshold set below never outlives the call.
SET pg_trgm.similarity_threshold = 0.3
ROWS 1
AS $$
BEGIN
  -- `%` finds memories whose similarity reaches pg_trgm.similarity_threshold, here the tenant's
  -- duplicate threshold. A high threshold is what keeps this fast on a large table: the index
  -- then only has to walk the rarest of the content's trigrams (a memory missing all of them
  -- cannot reach it), not the common ones, which most memories of every tenant hold.
  PERFORM set_config('pg_trgm.similarity_threshold', greatest(threshold, 0.3)::text, true);
  RETURN QUERY
    SELECT m.id, similarity(m.content, candidate)::float8
      FROM memories m
     WHERE m.tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
       AND m.deleted_at IS NULL
       AND m.agent_id IS NOT DISTINCT FROM agent
       AND m.content % candidate
     ORDER BY 2 DESC, m.id
     LIMIT 1;
END $$;

REVOKE ALL ON FUNCTION tenantry_memory.near_duplicate(text, uuid, real) FROM PUBLIC;

-- Handed to the service role as in migration 0002 (which says why it takes these steps).
DO $$
DECLARE
  migrator constant text := current_user;
  service constant text := current_setting('tenantry.service_role');
  app constant text := current_setting('tenantry.app_role');
BEGIN
  EXECUTE format('GRANT CREATE ON SCHEMA tenantry_memory TO %I', service);
  PERFORM set_config('role', 'none', true);
  EXECUTE format('ALTER FUNCTION tenantry_memory.near_duplicate(text, uuid, real) OWNER TO %I', service);
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_memory.near_duplicate(text, uuid, real) TO %I, %I', app, migrator);
  PERFORM set_config('role', migrator, true);
  EXECUTE format('REVOKE CREATE ON SCHEMA tenantry_memory FROM %I', service);
END $$;

-- Down Migration
DROP FUNCTION tenantry_memory.near_duplicate(text, uuid, real);
