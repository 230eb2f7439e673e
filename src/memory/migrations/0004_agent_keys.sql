-- Up Migration
-- Agents act through API keys of their own (the core's api_keys.agent_id, platform migration
-- 0017). The core knows nothing of this module's tables, so what ties a key to an agent lives
-- here, with the agents:
--
-- * the foreign key: a key's agent is an agent of the key's tenant (tenant_id in the key, as
--   every foreign key between tenant tables). A purge that hard-deletes an agent takes its keys.
-- * deleting an agent (a soft delete: deleted_at) revokes its keys in the same transaction,
--   whatever path deletes it, so the next request with one is refused by
--   tenantry_access.verify_key and by authentication, cached or not.
-- * layer 2 for agent keys: a unit of work acting as an agent key sets app.agent_id (empty
--   otherwise), and a RESTRICTIVE policy on memories and their versions lets such a unit see
--   and write only that agent's rows, on top of the tenant policies.

ALTER TABLE api_keys ADD CONSTRAINT api_keys_agent_fkey
  FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE CASCADE;

-- Runs as the deleting role, under its row-level security: the keys it revokes are its tenant's.
CREATE FUNCTION tenantry_memory.revoke_deleted_agent_keys() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  UPDATE api_keys SET revoked_at = NEW.deleted_at
   WHERE tenant_id = NEW.tenant_id AND agent_id = NEW.id AND revoked_at IS NULL;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION tenantry_memory.revoke_deleted_agent_keys() FROM PUBLIC;

CREATE TRIGGER agents_revoke_keys_on_delete
  AFTER UPDATE OF deleted_at ON agents
  FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
  EXECUTE FUNCTION tenantry_memory.revoke_deleted_agent_keys();

-- Written as CASE, not OR: the planner estimates an OR of two parameter tests as a tiny
-- fraction of the rows and would then scan the whole table for a page of a tenant's memories;
-- a CASE it takes at one half, and the tenant's index plans stay as they were.
CREATE POLICY memories_agent_scope ON memories AS RESTRICTIVE FOR ALL
  USING (CASE WHEN (SELECT nullif(current_setting('app.agent_id', true), '')) IS NULL THEN true
              ELSE agent_id IS NOT NULL AND agent_id = (SELECT nullif(current_setting('app.agent_id', true), '')::uuid) END)
  WITH CHECK (CASE WHEN (SELECT nullif(current_setting('app.agent_id', true), '')) IS NULL THEN true
              ELSE agent_id IS NOT NULL AND agent_id = (SELECT nullif(current_setting('app.agent_id', true), '')::uuid) END);

-- A version belongs to the agent of its memory (read under memories' own policies).
CREATE POLICY memory_versions_agent_scope ON memory_versions AS RESTRICTIVE FOR ALL
  USING (CASE WHEN (SELECT nullif(current_setting('app.agent_id', true), '')) IS NULL THEN true
              ELSE EXISTS (SELECT 1 FROM memories m
                            WHERE m.tenant_id = memory_versions.tenant_id AND m.id = memory_versions.memory_id
                              AND m.agent_id = (SELECT nullif(current_setting('app.agent_id', true), '')::uuid)) END)
  WITH CHECK (CASE WHEN (SELECT nullif(current_setting('app.agent_id', true), '')) IS NULL THEN true
              ELSE EXISTS (SELECT 1 FROM memories m
                            WHERE m.tenant_id = memory_versions.tenant_id AND m.id = memory_versions.memory_id
                              AND m.agent_id = (SELECT nullif(current_setting('app.agent_id', true), '')::uuid)) END);

-- Down Migration
DROP POLICY memory_versions_agent_scope ON memory_versions;
DROP POLICY memories_agent_scope ON memories;
DROP TRIGGER agents_revoke_keys_on_delete ON agents;
DROP FUNCTION tenantry_memory.revoke_deleted_agent_keys();
ALTER TABLE api_keys DROP CONSTRAINT api_keys_agent_fkey;
