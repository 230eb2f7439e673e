-- Up Migration
-- The access a request acts on, re-checked inside the request's own transaction. The app
-- caches who may do what in a tenant (src/tenancy/access-grants.ts) so that a tenant read is
-- one round trip; the first unit of work of each request then runs one of these checks in the
-- same message as its SET LOCALs. A check that fails raises, which aborts the transaction
-- before the request's own statements run: a revoked session, a removed member, a revoked
-- key or a suspended tenant is refused by PostgreSQL on the next request, whatever any
-- instance's cache still says.
--
-- Both run as the app role under row-level security (SECURITY INVOKER): they read only the
-- rows the unit's settings already expose (the tenant in scope, the session family and user
-- the unit names, that tenant's memberships and keys). The SQLSTATEs are Tenantry's own
-- class TN; src/tenancy/access-check.ts maps each to its problem.

CREATE SCHEMA tenantry_access;
REVOKE ALL ON SCHEMA tenantry_access FROM PUBLIC;

-- A member signed in with an access token: app.tenant_id, app.user_id and
-- app.session_family_id are the unit's; the role and plan are what the request acts on.
CREATE FUNCTION tenantry_access.verify_member(expected_role text, expected_plan text, at timestamptz)
RETURNS void LANGUAGE plpgsql STABLE AS $$
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
  IF v_status = 'suspended' THEN
    RAISE EXCEPTION 'the tenant is suspended' USING ERRCODE = 'TN423';
  END IF;
  IF v_role IS DISTINCT FROM expected_role OR v_plan IS DISTINCT FROM expected_plan THEN
    RAISE EXCEPTION 'the role or plan changed' USING ERRCODE = 'TN409';
  END IF;
END $$;

-- An API key: app.tenant_id is the key's tenant; the role is the key's own, bounded by its
-- creator's live role, as src/tenancy/resolve-tenant.ts computes it.
CREATE FUNCTION tenantry_access.verify_key(key_id uuid, expected_role text, expected_plan text, at timestamptz)
RETURNS void LANGUAGE plpgsql STABLE AS $$
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
  IF v_status = 'suspended' THEN
    RAISE EXCEPTION 'the tenant is suspended' USING ERRCODE = 'TN423';
  END IF;
  IF tenantry_access.role_rank(v_creator_role) < tenantry_access.role_rank(v_key_role) THEN
    v_key_role := v_creator_role;
  END IF;
  IF v_key_role IS DISTINCT FROM expected_role OR v_plan IS DISTINCT FROM expected_plan THEN
    RAISE EXCEPTION 'the role or plan changed' USING ERRCODE = 'TN409';
  END IF;
END $$;

-- The order of src/tenancy/roles.ts.
CREATE FUNCTION tenantry_access.role_rank(role text) RETURNS int LANGUAGE sql IMMUTABLE AS $$
  SELECT array_position(ARRAY['viewer', 'member', 'admin', 'owner'], role)
$$;

REVOKE ALL ON FUNCTION tenantry_access.verify_member(text, text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION tenantry_access.verify_key(uuid, text, text, timestamptz) FROM PUBLIC;
DO $$ BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA tenantry_access TO %I', current_setting('tenantry.app_role'));
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_access.verify_member(text, text, timestamptz) TO %I', current_setting('tenantry.app_role'));
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_access.verify_key(uuid, text, text, timestamptz) TO %I', current_setting('tenantry.app_role'));
END $$;

-- Down Migration
DROP SCHEMA tenantry_access CASCADE;
