-- Up Migration
-- A store's near-duplicate, found by index under forced row-level security: the same reason and
-- the same confinement as recall_candidates (migration 0002). `%` (trigram similarity) is not
-- LEAKPROOF, so read as the app role it never reaches the trigram index and every live memory of
-- the tenant was compared, under the tenant's store lock. This function, run as the service role,
-- finds the agent's most similar live memory through the GIN index led by tenant_id, in the
-- tenant of the transaction's app.tenant_id only (none without it), and returns its id and
-- similarity; the store then reads and reinforces that memory as the app role, under both layers.

CREATE FUNCTION tenantry_memory.near_duplicate(candidate text, agent uuid)
RETURNS TABLE (id uuid, similarity float8)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
ROWS 1
AS $$
  -- `%`: similarity at or above pg_trgm.similarity_threshold (0.3 unless the server changed it),
  -- which lets the index find the candidates; the store applies its own threshold exactly.
  SELECT m.id, similarity(m.content, candidate)::float8
    FROM memories m
   WHERE m.tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
     AND m.deleted_at IS NULL
     AND m.agent_id IS NOT DISTINCT FROM agent
     AND m.content % candidate
   ORDER BY 2 DESC, m.id
   LIMIT 1
$$;

REVOKE ALL ON FUNCTION tenantry_memory.near_duplicate(text, uuid) FROM PUBLIC;

-- Handed to the service role as in migration 0002 (which says why it takes these steps).
DO $$
DECLARE
  migrator constant text := current_user;
  service constant text := current_setting('tenantry.service_role');
  app constant text := current_setting('tenantry.app_role');
BEGIN
  EXECUTE format('GRANT CREATE ON SCHEMA tenantry_memory TO %I', service);
  PERFORM set_config('role', 'none', true);
  EXECUTE format('ALTER FUNCTION tenantry_memory.near_duplicate(text, uuid) OWNER TO %I', service);
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_memory.near_duplicate(text, uuid) TO %I, %I', app, migrator);
  PERFORM set_config('role', migrator, true);
  EXECUTE format('REVOKE CREATE ON SCHEMA tenantry_memory FROM %I', service);
END $$;

-- Down Migration
DROP FUNCTION tenantry_memory.near_duplicate(text, uuid);
