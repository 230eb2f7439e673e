-- Up Migration
-- The check a request served from the access cache runs in its first unit of work
-- (src/tenancy/access-check.ts) is one prepared statement, no longer a call of verify_member
-- or verify_key. A PL/pgSQL function runs its three lookups as three statements, each started
-- and ended on every call, and the call was parsed with every request: the check cost
-- PostgreSQL about as much CPU as the task list it guarded. The statement reads the same rows
-- with the same row-level security and raises the same SQLSTATEs, through the two functions
-- below, which it calls only when the check fails or the tenant's hold applies.

-- Raises `message` with SQLSTATE `code` (class TN, mapped to problems in access-check.ts).
-- Declared boolean so that a CASE can call it in the branch of the failure it names.
CREATE FUNCTION tenantry_access.refuse(code text, message text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;
END $$;

-- hold_status (migration 0013) as a boolean, for the same CASE: true once the unit is held.
CREATE FUNCTION tenantry_access.hold(actual text, expected text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM tenantry_access.hold_status(actual, expected);
  RETURN true;
END $$;

REVOKE ALL ON FUNCTION tenantry_access.refuse(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION tenantry_access.hold(text, text) FROM PUBLIC;
DO $$ BEGIN
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_access.refuse(text, text) TO %I', current_setting('tenantry.app_role'));
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_access.hold(text, text) TO %I', current_setting('tenantry.app_role'));
END $$;

DROP FUNCTION tenantry_access.verify_member(text, text, text, timestamptz);
DROP FUNCTION tenantry_access.verify_key(uuid, text, text, text, timestamptz, uuid);

-- Down Migration
CREATE FUNCTION tenantry_access.verify_member(expected_role text, expected_plan text, expected_status text, at timestamptz)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_tenant uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
  v_user uuid := nullif(current_setting('app.user_id', true), '')::uuid;
  v_family uuid := nullif(current_setting('app.session_family_id', true), '')::uuid;
  v_status text;
  v_plan text;
  v_role text;
BEGIN
  SELECT t.status, t.plan INTO v_status, v_plan FROM tenants t WHERE t.id = v_tenant AND t.deleted_at IS NULL;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the tenant no longer exists' USING ERRCODE = 'TN404';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM sessions s
                  WHERE s.family_id = v_family AND s.user_id = v_user
                    AND s.revoked_at IS NULL AND s.expires_at > at) THEN
    RAISE EXCEPTION 'the session has ended' USING ERRCODE = 'TN401';
  END IF;
  SELECT m.role INTO v_role FROM memberships m
   WHERE m.tenant_id = v_tenant AND m.user_id = v_user AND m.deleted_at IS NULL;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the user is no longer a member' USING ERRCODE = 'TN403';
  END IF;
  IF v_role IS DISTINCT FROM expected_role OR v_plan IS DISTINCT FROM expected_plan THEN
    RAISE EXCEPTION 'the role or plan changed' USING ERRCODE = 'TN409';
  END IF;
  PERFORM tenantry_access.hold_status(v_status, expected_status);
END $$;

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

REVOKE ALL ON FUNCTION tenantry_access.verify_member(text, text, text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION tenantry_access.verify_key(uuid, text, text, text, timestamptz, uuid) FROM PUBLIC;
DO $$ BEGIN
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_access.verify_member(text, text, text, timestamptz) TO %I', current_setting('tenantry.app_role'));
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_access.verify_key(uuid, text, text, text, timestamptz, uuid) TO %I', current_setting('tenantry.app_role'));
END $$;
DROP FUNCTION tenantry_access.hold(text, text);
DROP FUNCTION tenantry_access.refuse(text, text);
