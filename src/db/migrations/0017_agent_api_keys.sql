-- Up Migration
-- API keys that act as one agent. The core knows an agent only as an optional id on a key:
-- which table holds agents, and what deleting one does to its keys, belong to the module that
-- defines agents (the memory module's migration 0004 adds the foreign key to its agents table
-- and revokes an agent's keys in the transaction that deletes it). A key with an agent is of
-- kind `agent`; the agent never changes for the life of the key.

ALTER TABLE api_keys ADD COLUMN agent_id uuid;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_agent_key_kind CHECK (agent_id IS NULL OR kind = 'agent');
-- An agent's keys, listed and revoked together.
CREATE INDEX api_keys_agent_idx ON api_keys (tenant_id, agent_id, created_at) WHERE agent_id IS NOT NULL;

-- verify_key (migration 0013) also confirms the agent the cached access acts as: the cache
-- entry carries it, and a key that does not act as that agent (or acts as one while the entry
-- says none) is refused like a revoked key. An agent key whose agent was deleted is revoked by
-- then (the module's trigger), so it is refused as revoked.
DROP FUNCTION tenantry_access.verify_key(uuid, text, text, text, timestamptz);

CREATE FUNCTION tenantry_access.verify_key(key_id uuid, expected_role text, expected_plan text, expected_status text, at timestamptz, expected_agent uuid)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_tenant uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
  v_status text;
  v_plan text;
  v_key_role text;
  v_creator uuid;
  v_creator_role text;
  v_agent uuid;
BEGIN
  SELECT t.status, t.plan INTO v_status, v_plan FROM tenants t WHERE t.id = v_tenant AND t.deleted_at IS NULL;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the key''s tenant no longer exists' USING ERRCODE = 'TN401';
  END IF;
  SELECT k.role, k.created_by, k.agent_id INTO v_key_role, v_creator, v_agent FROM api_keys k
   WHERE k.tenant_id = v_tenant AND k.id = key_id
     AND k.revoked_at IS NULL AND k.deleted_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > at);
  IF NOT FOUND OR v_creator IS NULL THEN
    RAISE EXCEPTION 'the key is revoked or expired' USING ERRCODE = 'TN401';
  END IF;
  IF v_agent IS DISTINCT FROM expected_agent THEN
    RAISE EXCEPTION 'the key does not act as the agent the request acts as' USING ERRCODE = 'TN401';
  END IF;
  SELECT m.role INTO v_creator_role FROM memberships m
   WHERE m.tenant_id = v_tenant AND m.user_id = v_creator AND m.deleted_at IS NULL;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the key''s creator is no longer a member' USING ERRCODE = 'TN401';
  END IF;
  IF tenantry_access.role_rank(v_creator_role) < tenantry_access.role_rank(v_key_role) THEN
    v_key_role := v_creator_role;
  END IF;
  IF v_key_role IS DISTINCT FROM expected_role OR v_plan IS DISTINCT FROM expected_plan THEN
    RAISE EXCEPTION 'the role or plan changed' USING ERRCODE = 'TN409';
  END IF;
  PERFORM tenantry_access.hold_status(v_status, expected_status);
END $$;

REVOKE ALL ON FUNCTION tenantry_access.verify_key(uuid, text, text, text, timestamptz, uuid) FROM PUBLIC;
DO $$ BEGIN
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_access.verify_key(uuid, text, text, text, timestamptz, uuid) TO %I', current_setting('tenantry.app_role'));
END $$;

-- Down Migration
DROP FUNCTION tenantry_access.verify_key(uuid, text, text, text, timestamptz, uuid);
CREATE FUNCTION tenantry_access.verify_key(key_id uuid, expected_role text, expected_plan text, expected_status text, at timestamptz)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_tenant uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
  v_status text;
  v_plan text;
  v_key_role text;
  v_creator uuid;
  v_creator_role text;
BEGIN
  SELECT t.status, t.plan INTO v_status, v_plan FROM tenants t WHERE t.id = v_tenant AND t.deleted_at IS NULL;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the key''s tenant no longer exists' USING ERRCODE = 'TN401';
  END IF;
  SELECT k.role, k.created_by INTO v_key_role, v_creator FROM api_keys k
   WHERE k.tenant_id = v_tenant AND k.id = key_id
     AND k.revoked_at IS NULL AND k.deleted_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > at);
  IF NOT FOUND OR v_creator IS NULL THEN
    RAISE EXCEPTION 'the key is revoked or expired' USING ERRCODE = 'TN401';
  END IF;
  SELECT m.role INTO v_creator_role FROM memberships m
   WHERE m.tenant_id = v_tenant AND m.user_id = v_creator AND m.deleted_at IS NULL;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the key''s creator is no longer a member' USING ERRCODE = 'TN401';
  END IF;
  IF tenantry_access.role_rank(v_creator_role) < tenantry_access.role_rank(v_key_role) THEN
    v_key_role := v_creator_role;
  END IF;
  IF v_key_role IS DISTINCT FROM expected_role OR v_plan IS DISTINCT FROM expected_plan THEN
    RAISE EXCEPTION 'the role or plan changed' USING ERRCODE = 'TN409';
  END IF;
  PERFORM tenantry_access.hold_status(v_status, expected_status);
END $$;
REVOKE ALL ON FUNCTION tenantry_access.verify_key(uuid, text, text, text, timestamptz) FROM PUBLIC;
DO $$ BEGIN
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_access.verify_key(uuid, text, text, text, timestamptz) TO %I', current_setting('tenantry.app_role'));
END $$;
DROP INDEX api_keys_agent_idx;
ALTER TABLE api_keys DROP CONSTRAINT api_keys_agent_key_kind;
ALTER TABLE api_keys DROP COLUMN agent_id;
