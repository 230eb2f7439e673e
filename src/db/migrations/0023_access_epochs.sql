-- Up Migration
-- A request served from the access cache is re-checked in PostgreSQL by its first unit of work
-- (src/tenancy/access-check.ts). Until now every check read the tenant, the session and the
-- membership (or the key and its creator's membership) under row-level security: a fifth to a
-- quarter of PostgreSQL's CPU for a task list, the list included (docs/benchmarks.md). Those
-- rows change rarely. Now every change that could make a cached access wrong moves an access
-- epoch in the same transaction, and a check whose epochs have not moved since the entry was
-- last checked in full answers from them alone; one whose epochs moved runs the full check,
-- which refuses exactly as before.
--
-- Why that is exact: the epochs are rows, bumped by triggers inside the changing transaction,
-- so a snapshot that sees a change sees its bump and one that does not, does not. A full check
-- reads the epochs and the access rows in one snapshot (the check functions are STABLE) and the
-- cache stores the epochs it read with the entry; a later check that reads the same epochs
-- reads a snapshot in which no change to those rows has committed since. A cached access whose
-- session or key expires by time is dropped from the cache at that time (resolve-tenant.ts), so
-- an epoch check never has to read an expiry.
--
-- Epochs are kept per slot, not per row: 1,024 slots each for users (their sessions and
-- memberships), API keys and tenants, by the last ten bits of the id. A change bumps its
-- slot's epoch, so it sends only the accesses sharing that slot to a full check, and two
-- changes contend for one epoch row only when their ids share a slot.

-- The slot of an id of a kind (0 user, 1 API key, 2 tenant): kind * 1024 + the id's last ten bits.
CREATE FUNCTION tenantry_access.slot(kind integer, id uuid) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT kind * 1024 + (('x' || right(id::text, 3))::bit(12)::integer & 1023)
$$;

CREATE TABLE tenantry_access.epochs (
  slot integer PRIMARY KEY,
  epoch bigint NOT NULL DEFAULT 0
);
-- On Citus the triggers would run on the workers' shards, not beside this table: the slots are
-- left out there, so every check finds no epochs and reads the rows, as before this migration.
INSERT INTO tenantry_access.epochs (slot)
SELECT generate_series(0, 3 * 1024 - 1) WHERE NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus');

-- Moves the epochs of the given slots. Their rows stay locked until the changing transaction
-- ends, so two changes in one slot commit one after the other. Runs as the owner: no request
-- role may write an epoch, or set one back.
CREATE FUNCTION tenantry_access.bump(slots integer[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
  UPDATE tenantry_access.epochs SET epoch = epoch + 1 WHERE slot = ANY (slots)
$$;

-- A row trigger: bumps the slot of kind TG_ARGV[0] of column TG_ARGV[1], before and after the
-- change (the old row's slot for a delete). Runs only for the changes its WHEN lets through.
CREATE FUNCTION tenantry_access.row_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  kind integer := TG_ARGV[0]::integer;
  old_id uuid := (to_jsonb(OLD) ->> TG_ARGV[1])::uuid;
  new_id uuid := CASE WHEN TG_OP = 'UPDATE' THEN (to_jsonb(NEW) ->> TG_ARGV[1])::uuid END;
BEGIN
  PERFORM tenantry_access.bump(ARRAY[tenantry_access.slot(kind, old_id), tenantry_access.slot(kind, new_id)]);
  RETURN NULL;
END $$;

-- A statement trigger for TRUNCATE: every epoch moves.
CREATE FUNCTION tenantry_access.truncated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  PERFORM tenantry_access.bump(ARRAY(SELECT slot FROM tenantry_access.epochs ORDER BY slot));
  RETURN NULL;
END $$;

-- What a check reads, and so what moves an epoch when it changes. Inserts move none: a new row
-- grants, and no cached access can depend on a row that did not exist.
CREATE TRIGGER access_epoch_update AFTER UPDATE ON tenants FOR EACH ROW
  WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.plan IS DISTINCT FROM NEW.plan OR OLD.status IS DISTINCT FROM NEW.status
        OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at)
  EXECUTE FUNCTION tenantry_access.row_changed('2', 'id');
CREATE TRIGGER access_epoch_delete AFTER DELETE ON tenants FOR EACH ROW EXECUTE FUNCTION tenantry_access.row_changed('2', 'id');
CREATE TRIGGER access_epoch_truncate AFTER TRUNCATE ON tenants FOR EACH STATEMENT EXECUTE FUNCTION tenantry_access.truncated();

CREATE TRIGGER access_epoch_update AFTER UPDATE ON sessions FOR EACH ROW
  WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.family_id IS DISTINCT FROM NEW.family_id
        OR OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at)
  EXECUTE FUNCTION tenantry_access.row_changed('0', 'user_id');
CREATE TRIGGER access_epoch_delete AFTER DELETE ON sessions FOR EACH ROW EXECUTE FUNCTION tenantry_access.row_changed('0', 'user_id');
CREATE TRIGGER access_epoch_truncate AFTER TRUNCATE ON sessions FOR EACH STATEMENT EXECUTE FUNCTION tenantry_access.truncated();

CREATE TRIGGER access_epoch_update AFTER UPDATE ON memberships FOR EACH ROW
  WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id OR OLD.user_id IS DISTINCT FROM NEW.user_id
        OR OLD.role IS DISTINCT FROM NEW.role OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at)
  EXECUTE FUNCTION tenantry_access.row_changed('0', 'user_id');
CREATE TRIGGER access_epoch_delete AFTER DELETE ON memberships FOR EACH ROW EXECUTE FUNCTION tenantry_access.row_changed('0', 'user_id');
CREATE TRIGGER access_epoch_truncate AFTER TRUNCATE ON memberships FOR EACH STATEMENT EXECUTE FUNCTION tenantry_access.truncated();

CREATE TRIGGER access_epoch_update AFTER UPDATE ON api_keys FOR EACH ROW
  WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id OR OLD.id IS DISTINCT FROM NEW.id OR OLD.role IS DISTINCT FROM NEW.role
        OR OLD.created_by IS DISTINCT FROM NEW.created_by OR OLD.agent_id IS DISTINCT FROM NEW.agent_id
        OR OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at
        OR OLD.expires_at IS DISTINCT FROM NEW.expires_at)
  EXECUTE FUNCTION tenantry_access.row_changed('1', 'id');
CREATE TRIGGER access_epoch_delete AFTER DELETE ON api_keys FOR EACH ROW EXECUTE FUNCTION tenantry_access.row_changed('1', 'id');
CREATE TRIGGER access_epoch_truncate AFTER TRUNCATE ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION tenantry_access.truncated();

-- A member's cached access (app.tenant_id, app.user_id, app.session_family_id are the unit's):
-- `seen` is the epoch the cache holds for it (NULL when it has none). Unmoved, and the tenant
-- not held, the access stands; otherwise the full check of migration 0020 runs: the tenant
-- live, the session live at `at`, the user still a member with the role, the tenant on the
-- plan, the hold as `expected_status` says. Answers the epoch read, for the cache to keep, when
-- the access is exactly as cached; NULL when it is held (suspended: every unit must be held
-- again, so the next check is a full one too).
CREATE FUNCTION tenantry_access.check_member(seen bigint, expected_role text, expected_plan text, expected_status text, at timestamptz)
RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_tenant uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
  v_user uuid := nullif(current_setting('app.user_id', true), '')::uuid;
  v_epoch bigint;
  v_exact boolean;
BEGIN
  -- The user's and the tenant's epochs added up: an epoch only grows, so the sum moves when
  -- either does. NULL unless both are found, which no cached epoch equals.
  SELECT CASE WHEN count(*) = 2 THEN sum(e.epoch)::bigint END INTO v_epoch
    FROM tenantry_access.epochs e
   WHERE e.slot = ANY (ARRAY[tenantry_access.slot(0, v_user), tenantry_access.slot(2, v_tenant)]);
  IF v_epoch = seen AND expected_status <> 'suspended' THEN
    RETURN v_epoch;
  END IF;
  SELECT CASE
      WHEN t.id IS NULL THEN tenantry_access.refuse('TN404', 'the tenant no longer exists')
      WHEN NOT EXISTS (SELECT FROM sessions s
                        WHERE s.family_id = nullif(current_setting('app.session_family_id', true), '')::uuid
                          AND s.user_id = v_user AND s.revoked_at IS NULL AND s.expires_at > at)
        THEN tenantry_access.refuse('TN401', 'the session has ended')
      WHEN m.role IS NULL THEN tenantry_access.refuse('TN403', 'the user is no longer a member')
      WHEN m.role IS DISTINCT FROM expected_role OR t.plan IS DISTINCT FROM expected_plan
        THEN tenantry_access.refuse('TN409', 'the role or plan changed')
      WHEN t.status = 'suspended' OR expected_status = 'suspended' THEN NOT tenantry_access.hold(t.status, expected_status)
      ELSE true
    END INTO v_exact
    FROM (SELECT v_tenant AS id) AS wanted
    LEFT JOIN tenants t ON t.id = wanted.id AND t.deleted_at IS NULL
    LEFT JOIN memberships m ON m.tenant_id = t.id AND m.user_id = v_user AND m.deleted_at IS NULL;
  RETURN CASE WHEN v_exact THEN v_epoch END;
END $$;

-- An API key's cached access (app.tenant_id is the key's tenant): key `key_id` created by
-- `creator`, acting as `expected_agent` (or none). Unmoved epochs (the key's, its creator's,
-- the tenant's), and the tenant not held, the access stands; otherwise the full check: the
-- tenant live, the key live at `at` and still its creator's and that agent's, the creator still
-- a member, the role (never above the creator's), the plan, the hold. Answers as check_member.
CREATE FUNCTION tenantry_access.check_key(seen bigint, key_id uuid, creator uuid, expected_role text, expected_plan text,
                                          expected_status text, at timestamptz, expected_agent uuid)
RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_tenant uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
  v_epoch bigint;
  v_exact boolean;
BEGIN
  SELECT CASE WHEN count(*) = 3 THEN sum(e.epoch)::bigint END INTO v_epoch
    FROM tenantry_access.epochs e
   WHERE e.slot = ANY (ARRAY[tenantry_access.slot(1, key_id), tenantry_access.slot(0, creator), tenantry_access.slot(2, v_tenant)]);
  IF v_epoch = seen AND expected_status <> 'suspended' THEN
    RETURN v_epoch;
  END IF;
  SELECT CASE
      WHEN t.id IS NULL THEN tenantry_access.refuse('TN401', 'the key''s tenant no longer exists')
      WHEN k.id IS NULL OR k.created_by IS NULL THEN tenantry_access.refuse('TN401', 'the key is revoked or expired')
      WHEN k.created_by IS DISTINCT FROM creator OR k.agent_id IS DISTINCT FROM expected_agent
        THEN tenantry_access.refuse('TN401', 'the key does not act for the creator or agent the request acts for')
      WHEN m.role IS NULL THEN tenantry_access.refuse('TN401', 'the key''s creator is no longer a member')
      WHEN (CASE WHEN tenantry_access.role_rank(m.role) < tenantry_access.role_rank(k.role) THEN m.role ELSE k.role END)
             IS DISTINCT FROM expected_role
           OR t.plan IS DISTINCT FROM expected_plan
        THEN tenantry_access.refuse('TN409', 'the role or plan changed')
      WHEN t.status = 'suspended' OR expected_status = 'suspended' THEN NOT tenantry_access.hold(t.status, expected_status)
      ELSE true
    END INTO v_exact
    FROM (SELECT v_tenant AS id) AS wanted
    LEFT JOIN tenants t ON t.id = wanted.id AND t.deleted_at IS NULL
    LEFT JOIN api_keys k
      ON k.tenant_id = t.id AND k.id = key_id AND k.revoked_at IS NULL AND k.deleted_at IS NULL
     AND (k.expires_at IS NULL OR k.expires_at > at)
    LEFT JOIN memberships m ON m.tenant_id = t.id AND m.user_id = k.created_by AND m.deleted_at IS NULL;
  RETURN CASE WHEN v_exact THEN v_epoch END;
END $$;

REVOKE ALL ON TABLE tenantry_access.epochs FROM PUBLIC;
REVOKE ALL ON FUNCTION tenantry_access.bump(integer[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION tenantry_access.row_changed() FROM PUBLIC;
REVOKE ALL ON FUNCTION tenantry_access.truncated() FROM PUBLIC;
REVOKE ALL ON FUNCTION tenantry_access.check_member(bigint, text, text, text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION tenantry_access.check_key(bigint, uuid, uuid, text, text, text, timestamptz, uuid) FROM PUBLIC;
DO $$ BEGIN
  -- The request role reads the epochs (a count of changes, no tenant's data); only the owner writes them.
  EXECUTE format('GRANT SELECT ON TABLE tenantry_access.epochs TO %I', current_setting('tenantry.app_role'));
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_access.check_member(bigint, text, text, text, timestamptz) TO %I',
                 current_setting('tenantry.app_role'));
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_access.check_key(bigint, uuid, uuid, text, text, text, timestamptz, uuid) TO %I',
                 current_setting('tenantry.app_role'));
END $$;

-- Down Migration
DROP FUNCTION tenantry_access.check_key(bigint, uuid, uuid, text, text, text, timestamptz, uuid);
DROP FUNCTION tenantry_access.check_member(bigint, text, text, text, timestamptz);
DROP TRIGGER access_epoch_update ON api_keys;
DROP TRIGGER access_epoch_delete ON api_keys;
DROP TRIGGER access_epoch_truncate ON api_keys;
DROP TRIGGER access_epoch_update ON memberships;
DROP TRIGGER access_epoch_delete ON memberships;
DROP TRIGGER access_epoch_truncate ON memberships;
DROP TRIGGER access_epoch_update ON sessions;
DROP TRIGGER access_epoch_delete ON sessions;
DROP TRIGGER access_epoch_truncate ON sessions;
DROP TRIGGER access_epoch_update ON tenants;
DROP TRIGGER access_epoch_delete ON tenants;
DROP TRIGGER access_epoch_truncate ON tenants;
DROP FUNCTION tenantry_access.truncated();
DROP FUNCTION tenantry_access.row_changed();
DROP FUNCTION tenantry_access.bump(integer[]);
DROP TABLE tenantry_access.epochs;
DROP FUNCTION tenantry_access.slot(integer, uuid);
