-- Up Migration
-- The transactional outbox: effects that must survive a crash (cache invalidation across
-- instances now; job enqueues, realtime events and webhooks later) are written here in the
-- same transaction as the change, and a relay delivers them after commit, in the order they
-- were written per tenant, at least once. A delivered row is deleted; a row that keeps failing is parked
-- (dead_at) after its last attempt so the tenant's later effects go on.

CREATE TABLE outbox (
  tenant_id     uuid NOT NULL REFERENCES tenants,
  id            uuid NOT NULL,
  topic         text NOT NULL CHECK (length(topic) BETWEEN 1 AND 100),
  payload       jsonb NOT NULL DEFAULT '{}',
  attempts      integer NOT NULL DEFAULT 0,
  -- A failed row waits until then (backoff); the tenant's later rows wait behind it.
  available_at  timestamptz NOT NULL DEFAULT now(),
  last_error    text,
  dead_at       timestamptz,
  -- The time of the insert, not of the transaction's start: the relay delivers a tenant's rows
  -- in (created_at, id) order, so two effects of one transaction keep theirs. (No sequence:
  -- identifiers are never sequential.)
  created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- Only because tenant soft delete stamps every tenant table; the relay still delivers such rows.
  deleted_at    timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX outbox_tenant_created_idx ON outbox (tenant_id, created_at, id);
SELECT tenantry_internal.enable_tenant_rls('outbox');

-- Requests only append effects (and soft delete stamps them); the relay, as the service
-- role, reads across tenants, records failures and deletes what it delivered.
SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT, INSERT, UPDATE (deleted_at)', 'outbox');
SELECT tenantry_internal.grant_to('tenantry.service_role', 'SELECT, INSERT, UPDATE, DELETE', 'outbox');

-- Down Migration
DROP TABLE outbox;
