-- Up Migration
-- Close the tenant-wide reads. Until now any tenant scope could read every tenant's row
-- (plan, settings, branding, webhook URL), and users and sessions had no RLS at all: the app
-- role could read every user's email and password hash. Now:
--   - tenants: a tenant scope reads its own row; outside a tenant, a user reads the tenants
--     they are a live member of (login, /v1/me). Resolution reads tenant_registry, a view
--     with four columns of every live tenant and nothing else.
--   - users: yourself (app.user_id) or the live members of the current tenant; never the
--     password hash (no column privilege). Sign-in reads the hash of the one account whose
--     email the unit names (app.user_email), through the view user_credentials.
--   - sessions: only the session whose refresh token the unit names (app.refresh_token_hash),
--     or the sessions of the family and user it names (app.session_family_id, app.user_id).
-- Every setting is transaction-local and set (empty when unused) by every unit of work in
-- src/db/database.ts. An empty setting is NULL, which matches nothing.

-- The two views below read their table with their owner's rights (the point: each shows the
-- app role a slice of rows or columns its own privileges do not reach). RLS is forced on the
-- tables, so the owner needs a policy of its own; it is for SELECT only, and the owner role
-- is never a login (it runs migrations, and could lift RLS on its own tables anyway). What
-- the app role gets is exactly each view's column list and WHERE.

-- Tenants ------------------------------------------------------------------------------------
DROP POLICY tenants_select ON tenants;
CREATE POLICY tenants_select ON tenants FOR SELECT
  USING (id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid)
         OR ((SELECT nullif(current_setting('app.tenant_id', true), '')) IS NULL
             AND EXISTS (SELECT 1 FROM memberships m
                         WHERE m.tenant_id = tenants.id
                           AND m.user_id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid)
                           AND m.deleted_at IS NULL)));
CREATE POLICY tenants_select_by_owner ON tenants FOR SELECT TO CURRENT_USER USING (true);

-- What resolution needs before a tenant is in scope (X-Tenant-ID by id or slug, the
-- subdomain, an API key's or an invitation's tenant): public by design, like a host name.
-- A deleted tenant is not in it.
CREATE VIEW tenant_registry WITH (security_barrier) AS
  SELECT id, slug, subdomain, status FROM tenants WHERE deleted_at IS NULL;

-- Users --------------------------------------------------------------------------------------
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY users_select ON users FOR SELECT
  USING (id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid)
         OR EXISTS (SELECT 1 FROM memberships m
                    WHERE m.user_id = users.id
                      AND m.tenant_id = (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid)
                      AND m.deleted_at IS NULL));
-- A unit creates or changes only the user it names: sign-up and accepting an invitation
-- name the id they are about to create.
CREATE POLICY users_insert ON users FOR INSERT
  WITH CHECK (id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid));
CREATE POLICY users_update ON users FOR UPDATE
  USING (id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid))
  WITH CHECK (id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid));
CREATE POLICY users_select_by_owner ON users FOR SELECT TO CURRENT_USER USING (true);

-- Every column but the hash. A table-wide SELECT would cover columns added later too, so it
-- goes, and the readable columns are listed.
DO $$ BEGIN
  EXECUTE format('REVOKE SELECT ON users FROM %I', current_setting('tenantry.app_role'));
END $$;
SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT (id, email, name, status, created_at, updated_at, deleted_at)', 'users');

-- The password check at sign-in: outside any tenant, the one live account whose email the
-- unit names (app.user_email: the email's UTF-8 bytes in hex, so any email fits SET LOCAL).
CREATE VIEW user_credentials WITH (security_barrier) AS
  SELECT id, status, password_hash FROM users
  WHERE deleted_at IS NULL
    AND (SELECT nullif(current_setting('app.tenant_id', true), '')) IS NULL
    AND lower(email) = (SELECT lower(convert_from(decode(nullif(current_setting('app.user_email', true), ''), 'hex'), 'UTF8')));

-- Sessions -----------------------------------------------------------------------------------
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY sessions_select ON sessions FOR SELECT
  USING (token_hash = (SELECT decode(nullif(current_setting('app.refresh_token_hash', true), ''), 'hex'))
         OR (family_id = (SELECT nullif(current_setting('app.session_family_id', true), '')::uuid)
             AND user_id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid)));
CREATE POLICY sessions_insert ON sessions FOR INSERT
  WITH CHECK (user_id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid));
CREATE POLICY sessions_update ON sessions FOR UPDATE
  USING (token_hash = (SELECT decode(nullif(current_setting('app.refresh_token_hash', true), ''), 'hex'))
         OR (family_id = (SELECT nullif(current_setting('app.session_family_id', true), '')::uuid)
             AND user_id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid)))
  WITH CHECK (user_id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid));

SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT', 'tenant_registry');
SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT', 'user_credentials');

-- Down Migration
DROP VIEW user_credentials, tenant_registry;
DROP POLICY sessions_select ON sessions;
DROP POLICY sessions_insert ON sessions;
DROP POLICY sessions_update ON sessions;
ALTER TABLE sessions NO FORCE ROW LEVEL SECURITY;
ALTER TABLE sessions DISABLE ROW LEVEL SECURITY;
DO $$ BEGIN
  EXECUTE format('REVOKE SELECT ON users FROM %I', current_setting('tenantry.app_role'));
END $$;
SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT', 'users');
DROP POLICY users_select ON users;
DROP POLICY users_insert ON users;
DROP POLICY users_update ON users;
DROP POLICY users_select_by_owner ON users;
ALTER TABLE users NO FORCE ROW LEVEL SECURITY;
ALTER TABLE users DISABLE ROW LEVEL SECURITY;
DROP POLICY tenants_select_by_owner ON tenants;
DROP POLICY tenants_select ON tenants;
CREATE POLICY tenants_select ON tenants FOR SELECT USING (true);
