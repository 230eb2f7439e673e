-- Up Migration
-- Billing's hold on a tenant, enforced where the data is. A suspended tenant (it stopped
-- paying and its grace period ran out, or an operator suspended it) is read-only: every unit
-- of work scoped to it runs as a READ ONLY transaction, so PostgreSQL itself refuses any write
-- (SQLSTATE 25006), whatever code path attempts it. Requests read the tenant's status when
-- they resolve their access and open their units READ ONLY (src/db/database.ts); the functions
-- here cover the rest:
--
-- * verify_member / verify_key (migration 0012) no longer refuse a suspended tenant: they
--   make the unit read-only when the tenant is suspended now, and answer TN409 (access
--   changed: the cache entry is dropped, the request may be sent again) when the request
--   believed it suspended and it is not any more. They take the status the request acts on.
-- * hold_if_suspended() is run by every tenant unit whose status nobody read (jobs, the CLI,
--   webhooks): it reads the tenant's status and makes the unit read-only if it is suspended.
--
-- Switching a transaction to read-only is always allowed; switching it back is refused once
-- a statement has run, and these run before any of the unit's own.
--
-- Also: tenants.billing_anchor, the instant a tenant's billing periods are counted from (its
-- subscription's start; metering's periods follow it, src/metering/billing-period.ts), and
-- plans.metered_prices, what a plan includes of a metric per period and the price of each
-- unit beyond (in thousandths of a cent): {"api_calls": {"included": 100000, "unit_price_millicents": 10}}.

-- As the table owner, which forced row-level security would otherwise limit to no tenant;
-- FORCE is lifted only inside this transaction.
ALTER TABLE tenants ADD COLUMN billing_anchor timestamptz;
ALTER TABLE tenants NO FORCE ROW LEVEL SECURITY;
UPDATE tenants SET billing_anchor = created_at;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
ALTER TABLE tenants ALTER COLUMN billing_anchor SET DEFAULT now(), ALTER COLUMN billing_anchor SET NOT NULL;

ALTER TABLE plans ADD COLUMN metered_prices jsonb NOT NULL DEFAULT '{}'::jsonb
  CHECK (jsonb_typeof(metered_prices) = 'object'
         AND NOT jsonb_path_exists(metered_prices, '$.* ? (@.type() != "object")')
         AND NOT jsonb_path_exists(metered_prices, '$.*.* ? (@.type() != "number" || @ < 0 || @ != @.floor())'));
UPDATE plans SET metered_prices = '{"api_calls": {"included": 10000, "unit_price_millicents": 0}}' WHERE key = 'free';
UPDATE plans SET metered_prices = '{"api_calls": {"included": 1000000, "unit_price_millicents": 10}}' WHERE key = 'pro';
UPDATE plans SET metered_prices = '{"api_calls": {"included": 5000000, "unit_price_millicents": 8}}' WHERE key = 'promax';

DROP FUNCTION tenantry_access.verify_member(text, text, timestamptz);
DROP FUNCTION tenantry_access.verify_key(uuid, text, text, timestamptz);

-- Read-only for a suspended tenant; a request that thought it suspended when it is not is stale.
CREATE FUNCTION tenantry_access.hold_status(actual text, expected text) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF actual = 'suspended' THEN
    PERFORM set_config('transaction_read_only', 'on', true);
  ELSIF expected = 'suspended' THEN
    RAISE EXCEPTION 'the tenant is no longer suspended' USING ERRCODE = 'TN409';
  END IF;
END $$;

CREATE FUNCTION tenantry_access.hold_if_suspended() RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_status text;
BEGIN
  SELECT t.status INTO v_status FROM tenants t
   WHERE t.id = nullif(current_setting('app.tenant_id', true), '')::uuid;
  PERFORM tenantry_access.hold_status(v_status, NULL);
END $$;

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

REVOKE ALL ON FUNCTION tenantry_access.hold_status(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION tenantry_access.hold_if_suspended() FROM PUBLIC;
REVOKE ALL ON FUNCTION tenantry_access.verify_member(text, text, text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION tenantry_access.verify_key(uuid, text, text, text, timestamptz) FROM PUBLIC;
DO $$ BEGIN
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_access.hold_status(text, text) TO %I', current_setting('tenantry.app_role'));
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_access.hold_if_suspended() TO %I', current_setting('tenantry.app_role'));
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_access.verify_member(text, text, text, timestamptz) TO %I', current_setting('tenantry.app_role'));
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_access.verify_key(uuid, text, text, text, timestamptz) TO %I', current_setting('tenantry.app_role'));
END $$;

-- Down Migration
DROP FUNCTION tenantry_access.verify_member(text, text, text, timestamptz);
DROP FUNCTION tenantry_access.verify_key(uuid, text, text, text, timestamptz);
DROP FUNCTION tenantry_access.hold_if_suspended();
DROP FUNCTION tenantry_access.hold_status(text, text);
ALTER TABLE tenants DROP COLUMN billing_anchor;
ALTER TABLE plans DROP COLUMN metered_prices;

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

REVOKE ALL ON FUNCTION tenantry_access.verify_member(text, text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION tenantry_access.verify_key(uuid, text, text, timestamptz) FROM PUBLIC;
DO $$ BEGIN
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_access.verify_member(text, text, timestamptz) TO %I', current_setting('tenantry.app_role'));
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_access.verify_key(uuid, text, text, timestamptz) TO %I', current_setting('tenantry.app_role'));
END $$;
