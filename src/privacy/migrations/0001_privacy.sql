-- Up Migration
-- Tenant exports and erasure certificates.
--
-- tenant_exports: one row per export a tenant's owner asked for. A tenant table like any
-- other (both isolation layers, deleted and purged with the tenant); the archive itself lives
-- in the export storage, named by storage_key, never in the database.
CREATE TABLE tenant_exports (
  tenant_id       uuid NOT NULL REFERENCES tenants (id),
  id              uuid NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'ready', 'failed', 'expired')),
  requested_by    uuid REFERENCES users (id),
  storage_key     text CHECK (storage_key ~ '^[a-z0-9/_.-]{1,200}$'),
  archive_bytes   bigint CHECK (archive_bytes >= 0),
  archive_sha256  text CHECK (archive_sha256 ~ '^[0-9a-f]{64}$'),
  manifest        jsonb,
  failure         text CHECK (length(failure) <= 2000),
  created_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz,
  expires_at      timestamptz NOT NULL,
  deleted_at      timestamptz,
  PRIMARY KEY (tenant_id, id),
  CHECK ((status = 'ready') = (storage_key IS NOT NULL AND archive_sha256 IS NOT NULL))
);
CREATE INDEX tenant_exports_tenant_created_idx ON tenant_exports (tenant_id, created_at);
-- The retention job finds what has expired across tenants.
CREATE INDEX tenant_exports_expiry_idx ON tenant_exports (expires_at) WHERE status IN ('pending', 'running', 'ready');
SELECT tenantry.tenant_table('tenant_exports', 'SELECT, INSERT, UPDATE');

-- erasure_certificates: what an erasure removed (tables and row counts), when and on whose
-- request, with an HMAC over that body. A platform table: it must outlive the erased tenant,
-- so it has no tenant_id and no tenant can read it; the operator reads it.
CREATE TABLE erasure_certificates (
  id            uuid PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('tenant', 'person', 'member')),
  -- The erased tenant's id, or the person's pseudonym (never their id or email).
  subject       text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
  -- For a member's erasure, the tenant it was confined to.
  scope_tenant  uuid,
  requested_by  text NOT NULL CHECK (length(requested_by) BETWEEN 1 AND 200),
  erased_at     timestamptz NOT NULL,
  -- {"tables": {"<table>": {"deleted": n, "updated": n}}, ...}: what was removed.
  body          jsonb NOT NULL,
  -- HMAC-SHA256 (hex) of the canonical JSON of every column above, under the server's key.
  signature     text NOT NULL CHECK (signature ~ '^[0-9a-f]{64}$'),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX erasure_certificates_subject_idx ON erasure_certificates (subject);
SELECT tenantry_internal.grant_to('tenantry.service_role', 'SELECT, INSERT, UPDATE (requested_by, signature)', 'erasure_certificates');

-- Erasing a person rewrites their actor label in the service-role audit (the row and its
-- reason stay; `user:<id>` becomes their pseudonym). Nothing else of that table may change.
SELECT tenantry_internal.grant_to('tenantry.service_role', 'UPDATE (actor)', 'service_role_audit');

-- The audit log is append-only, for the service role too, except what erasure rewrites: the
-- person's actor and target labels become their pseudonym, before/after that mention them go.
SELECT tenantry_internal.grant_to('tenantry.service_role', 'UPDATE (actor, target, before, after)', 'audit_log');

-- Down Migration
DO $$ BEGIN
  EXECUTE format('REVOKE UPDATE (actor, target, before, after) ON audit_log FROM %I', current_setting('tenantry.service_role'));
END $$;
DO $$ BEGIN
  EXECUTE format('REVOKE UPDATE (actor) ON service_role_audit FROM %I', current_setting('tenantry.service_role'));
END $$;
DROP TABLE erasure_certificates;
DROP TABLE tenant_exports;
