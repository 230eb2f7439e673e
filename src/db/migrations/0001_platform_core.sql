-- Up Migration
-- Platform core: tenants, global identities, memberships, sessions and API keys. Runs as
-- the owner role; the migrator sets tenantry.app_role and tenantry.service_role so grants
-- follow the configured role names.

CREATE SCHEMA tenantry_internal;
REVOKE ALL ON SCHEMA tenantry_internal FROM PUBLIC;

-- Grants a privilege list on a table to the app (or service) role named in the session.
CREATE FUNCTION tenantry_internal.grant_to(role_setting text, privileges text, tbl regclass)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('GRANT %s ON %s TO %I', privileges, tbl, current_setting(role_setting));
END $$;

-- Every tenant table: RLS enabled and forced, one policy per command, all comparing
-- tenant_id with the transaction-local app.tenant_id. The (SELECT ...) makes the
-- setting an InitPlan, evaluated once per statement, so the tenant_id index is used.
-- An empty or missing setting becomes NULL, which matches nothing.
CREATE FUNCTION tenantry_internal.enable_tenant_rls(tbl regclass)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  current_tenant constant text := $q$(SELECT nullif(current_setting('app.tenant_id', true), '')::uuid)$q$;
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format('CREATE POLICY tenant_select ON %s FOR SELECT USING (tenant_id = %s)', tbl, current_tenant);
  EXECUTE format('CREATE POLICY tenant_insert ON %s FOR INSERT WITH CHECK (tenant_id = %s)', tbl, current_tenant);
  EXECUTE format('CREATE POLICY tenant_update ON %s FOR UPDATE USING (tenant_id = %s) WITH CHECK (tenant_id = %s)',
                 tbl, current_tenant, current_tenant);
  EXECUTE format('CREATE POLICY tenant_delete ON %s FOR DELETE USING (tenant_id = %s)', tbl, current_tenant);
END $$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tenantry_internal FROM PUBLIC;

-- Tenants: the registry. Readable for resolution (by id, slug or subdomain); a row can
-- only be created or changed inside its own tenant scope.
CREATE TABLE tenants (
  id          uuid PRIMARY KEY,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  slug        text NOT NULL CONSTRAINT tenants_slug_key UNIQUE
              CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$'),
  subdomain   text CONSTRAINT tenants_subdomain_key UNIQUE
              CHECK (subdomain ~ '^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$'),
  plan        text NOT NULL DEFAULT 'free',
  settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
  branding    jsonb NOT NULL DEFAULT '{}'::jsonb,
  status      text NOT NULL DEFAULT 'active'
              CHECK (status IN ('active', 'past_due', 'suspended', 'deleted')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz
);
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenants_select ON tenants FOR SELECT USING (true);
CREATE POLICY tenants_insert ON tenants FOR INSERT
  WITH CHECK (id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid));
CREATE POLICY tenants_update ON tenants FOR UPDATE
  USING (id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid))
  WITH CHECK (id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid));

-- Users: global identities; a person can belong to several tenants.
CREATE TABLE users (
  id             uuid PRIMARY KEY,
  email          text NOT NULL CHECK (length(email) BETWEEN 3 AND 320 AND position('@' IN email) > 1),
  name           text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
  password_hash  text,
  status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'invited', 'disabled')),
  -- An invited user sets a password only with the one-time invitation token (hashed).
  invite_token_hash  bytea CONSTRAINT users_invite_token_hash_key UNIQUE,
  invite_expires_at  timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  deleted_at     timestamptz
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Memberships: the users of a tenant. Outside any tenant scope, a user sees their own
-- memberships (app.user_id), which is what login and /v1/me need; writes stay tenant-scoped.
CREATE TABLE memberships (
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  user_id     uuid NOT NULL REFERENCES users (id),
  role        text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz,
  PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_tenant_created_idx ON memberships (tenant_id, created_at);
CREATE INDEX memberships_user_idx ON memberships (user_id);
SELECT tenantry_internal.enable_tenant_rls('memberships');
CREATE POLICY memberships_select_own ON memberships FOR SELECT
  USING ((SELECT nullif(current_setting('app.tenant_id', true), '')) IS NULL
         AND user_id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid));

-- Sessions: one row per refresh token (hashed); rotation keeps the family together so a
-- replayed, already-rotated token can revoke the whole family.
CREATE TABLE sessions (
  id                uuid PRIMARY KEY,
  family_id         uuid NOT NULL,
  token_hash        bytea NOT NULL CONSTRAINT sessions_token_hash_key UNIQUE,
  user_id           uuid NOT NULL REFERENCES users (id),
  active_tenant_id  uuid REFERENCES tenants (id),
  created_at        timestamptz NOT NULL DEFAULT now(),
  expires_at        timestamptz NOT NULL,
  rotated_at        timestamptz,
  revoked_at        timestamptz
);
CREATE INDEX sessions_family_idx ON sessions (family_id);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- API keys: tnt_<prefix>_<secret>. The prefix is public and finds the row; only a
-- SHA-256 of the secret is kept. Before the tenant is known, a key is visible only
-- to a lookup that names its exact prefix (app.api_key_prefix).
CREATE TABLE api_keys (
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  id            uuid NOT NULL,
  prefix        text NOT NULL CHECK (prefix ~ '^[a-z0-9]{12,32}$'),
  secret_hash   bytea NOT NULL,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  kind          text NOT NULL DEFAULT 'user' CHECK (kind IN ('user', 'agent')),
  role          text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  scopes        text[] NOT NULL DEFAULT '{}',
  created_by    uuid REFERENCES users (id),
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz,
  last_used_at  timestamptz,
  revoked_at    timestamptz,
  deleted_at    timestamptz,
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT api_keys_prefix_key UNIQUE (tenant_id, prefix)
);
CREATE INDEX api_keys_tenant_created_idx ON api_keys (tenant_id, created_at);
CREATE INDEX api_keys_prefix_idx ON api_keys (prefix);
SELECT tenantry_internal.enable_tenant_rls('api_keys');
CREATE POLICY api_keys_select_by_prefix ON api_keys FOR SELECT
  USING ((SELECT nullif(current_setting('app.tenant_id', true), '')) IS NULL
         AND prefix = (SELECT nullif(current_setting('app.api_key_prefix', true), '')));

-- The sample task domain's tables (projects, project_members, tasks) were created here until
-- it became a module of its own: see src/domain/tasks/migrations.

-- Every use of the service role (BYPASSRLS) leaves a row here, with its reason. A
-- platform table: no tenant can read it.
CREATE TABLE service_role_audit (
  id          uuid PRIMARY KEY,
  reason      text NOT NULL CHECK (length(reason) BETWEEN 3 AND 200),
  actor       text NOT NULL,
  request_id  text,
  -- The tenant the work concerns, if one: named so, because this is not tenant data.
  target_tenant_id  uuid,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX service_role_audit_created_idx ON service_role_audit (created_at);

-- The app role gets exactly what requests need: no TRUNCATE, no REFERENCES, no DDL.
SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT, INSERT, UPDATE', 'tenants');
SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT, INSERT, UPDATE', 'users');
SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT, INSERT, UPDATE', 'sessions');
SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT, INSERT, UPDATE, DELETE', t)
  FROM unnest(ARRAY['memberships', 'api_keys']::regclass[]) AS t;

-- The service role works across tenants for purges, rollups and admin reads.
SELECT tenantry_internal.grant_to('tenantry.service_role', 'SELECT, INSERT, UPDATE, DELETE', t)
  FROM unnest(ARRAY['tenants', 'users', 'sessions', 'memberships', 'api_keys']::regclass[]) AS t;
SELECT tenantry_internal.grant_to('tenantry.service_role', 'SELECT, INSERT', 'service_role_audit');

-- Down Migration
DROP TABLE service_role_audit, api_keys, sessions,
  memberships, users, tenants;
DROP SCHEMA tenantry_internal CASCADE;
