-- Up Migration
-- The one call a module's migration makes for each tenant table it creates:
--
--   CREATE TABLE contracts (tenant_id uuid NOT NULL REFERENCES tenants (id), id uuid NOT NULL, ...,
--                           deleted_at timestamptz, PRIMARY KEY (tenant_id, id));
--   SELECT tenantry.tenant_table('contracts');
--
-- It refuses a table the platform could not keep isolated or delete (tenant_id not first, not a
-- NOT NULL uuid, no foreign key to tenants, no deleted_at), then turns row-level security on and
-- forces it, creates one policy per command comparing tenant_id with app.tenant_id, and grants
-- the app role `app_privileges` and the service role what purges and exports need. The app
-- role never gets TRUNCATE, REFERENCES or DDL.

CREATE SCHEMA tenantry;
REVOKE ALL ON SCHEMA tenantry FROM PUBLIC;

CREATE FUNCTION tenantry.tenant_table(tbl regclass, app_privileges text DEFAULT 'SELECT, INSERT, UPDATE, DELETE')
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute
                  WHERE attrelid = tbl AND attnum = 1 AND attname = 'tenant_id'
                    AND atttypid = 'uuid'::regtype AND attnotnull) THEN
    RAISE EXCEPTION 'tenant table %: its first column must be tenant_id uuid NOT NULL', tbl;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_constraint
                  WHERE conrelid = tbl AND contype = 'f' AND confrelid = 'tenants'::regclass) THEN
    RAISE EXCEPTION 'tenant table %: tenant_id must reference tenants (id)', tbl;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_attribute
                  WHERE attrelid = tbl AND attname = 'deleted_at' AND NOT attisdropped
                    AND atttypid = 'timestamptz'::regtype AND NOT attnotnull) THEN
    RAISE EXCEPTION 'tenant table %: it needs a nullable deleted_at timestamptz (tenant soft delete stamps it)', tbl;
  END IF;
  IF app_privileges !~* '^\s*(SELECT|INSERT|UPDATE|DELETE)(\s*\([a-z0-9_, ]+\))?(\s*,\s*(SELECT|INSERT|UPDATE|DELETE)(\s*\([a-z0-9_, ]+\))?)*\s*$' THEN
    RAISE EXCEPTION 'tenant table %: app_privileges may list SELECT, INSERT, UPDATE and DELETE only', tbl;
  END IF;
  PERFORM tenantry_internal.enable_tenant_rls(tbl);
  PERFORM tenantry_internal.grant_to('tenantry.app_role', app_privileges, tbl);
  PERFORM tenantry_internal.grant_to('tenantry.service_role', 'SELECT, INSERT, UPDATE, DELETE', tbl);
END $$;

REVOKE ALL ON FUNCTION tenantry.tenant_table(regclass, text) FROM PUBLIC;

-- Down Migration
DROP SCHEMA tenantry CASCADE;
