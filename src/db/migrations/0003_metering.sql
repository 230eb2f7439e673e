-- Up Migration
-- Usage metering: the metric catalog, raw usage events (deduplicated per tenant by
-- idempotency key), hourly/daily rollups, quota counters and soft-limit warnings.

-- The metric catalog: a platform table, readable by requests, written by platform admins.
-- Metrics are never deleted (events name them without a foreign key, which would cost a
-- trigger per ingested row).
CREATE TABLE usage_metrics (
  key          text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]{1,62}$'),
  unit         text NOT NULL CHECK (length(unit) BETWEEN 1 AND 50),
  aggregation  text NOT NULL CHECK (aggregation IN ('sum', 'count', 'max', 'unique_count')),
  -- unique_count counts distinct values of this event property.
  unique_by    text CHECK (unique_by ~ '^[A-Za-z_][A-Za-z0-9_]{0,62}$'),
  -- true: the quota resets every billing period (tasks created); false: a level (seats).
  resets       boolean NOT NULL DEFAULT true,
  -- hard: the action is refused past the limit; soft: it goes through with a warning.
  enforcement  text NOT NULL DEFAULT 'soft' CHECK (enforcement IN ('hard', 'soft')),
  description  text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
  created_at   timestamptz NOT NULL DEFAULT now(),
  CHECK ((aggregation = 'unique_count') = (unique_by IS NOT NULL))
);
INSERT INTO usage_metrics (key, unit, aggregation, resets, enforcement, description) VALUES
  ('api_calls', 'requests', 'count', true, 'soft', 'Authenticated API requests of the tenant'),
  ('seats', 'seats', 'max', false, 'hard', 'Members of the tenant (peak in the period)'),
  ('memories', 'memories', 'count', true, 'hard', 'Agent memories stored in the period'),
  ('tasks', 'tasks', 'count', true, 'hard', 'Tasks created in the period'),
  ('storage_bytes', 'bytes', 'max', false, 'soft', 'Bytes stored (peak in the period)');

-- Raw events. The primary key is the deduplication: one INSERT ... ON CONFLICT DO NOTHING
-- both stores and deduplicates a batch. ingest_xid is the inserting transaction's id: the
-- rollup job processes events whose transaction ended below its watermark, so every event
-- is rolled up exactly once whatever order transactions commit in. No (tenant_id,
-- created_at) index: events are read by metric and occurred_at, and each index slows ingest.
CREATE TABLE usage_events (
  tenant_id        uuid NOT NULL REFERENCES tenants (id),
  idempotency_key  text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  metric           text NOT NULL,
  quantity         numeric NOT NULL CHECK (quantity >= 0),
  occurred_at      timestamptz NOT NULL,
  -- The value a unique_count metric counts, taken from properties at ingestion.
  unique_value     text,
  properties       jsonb,
  ingest_xid       xid8 NOT NULL DEFAULT pg_current_xact_id(),
  created_at       timestamptz NOT NULL DEFAULT now(),
  deleted_at       timestamptz,
  PRIMARY KEY (tenant_id, idempotency_key)
);
CREATE INDEX usage_events_tenant_metric_occurred_idx ON usage_events (tenant_id, metric, occurred_at);
CREATE INDEX usage_events_ingest_xid_idx ON usage_events (ingest_xid);
SELECT tenantry_internal.enable_tenant_rls('usage_events');

-- Rollups: one row per tenant, metric and UTC bucket (hour or day). All aggregations are
-- kept, so reading a metric picks the one its catalog entry names.
CREATE TABLE usage_rollups (
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  metric        text NOT NULL,
  granularity   text NOT NULL CHECK (granularity IN ('hour', 'day')),
  bucket_start  timestamptz NOT NULL,
  event_count   bigint NOT NULL,
  quantity_sum  numeric NOT NULL,
  quantity_max  numeric NOT NULL,
  unique_count  bigint,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  deleted_at    timestamptz,
  PRIMARY KEY (tenant_id, metric, granularity, bucket_start)
);
CREATE INDEX usage_rollups_tenant_created_idx ON usage_rollups (tenant_id, created_at);
SELECT tenantry_internal.enable_tenant_rls('usage_rollups');

-- Quota counters: what a tenant has used of a limited metric in a period (period_start is
-- the epoch for metrics that never reset). Quotas are enforced by a conditional update of
-- this row inside the action's transaction.
CREATE TABLE usage_counters (
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  metric        text NOT NULL,
  period_start  timestamptz NOT NULL,
  used          numeric NOT NULL DEFAULT 0 CHECK (used >= 0),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  deleted_at    timestamptz,
  PRIMARY KEY (tenant_id, metric, period_start)
);
CREATE INDEX usage_counters_tenant_created_idx ON usage_counters (tenant_id, created_at);
SELECT tenantry_internal.enable_tenant_rls('usage_counters');

-- Warnings at 80% and 100% of a limit: the key makes each one happen once per period.
CREATE TABLE usage_warnings (
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  metric        text NOT NULL,
  period_start  timestamptz NOT NULL,
  threshold     smallint NOT NULL CHECK (threshold IN (80, 100)),
  used          numeric NOT NULL,
  limit_value   numeric NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  deleted_at    timestamptz,
  PRIMARY KEY (tenant_id, metric, period_start, threshold)
);
CREATE INDEX usage_warnings_tenant_created_idx ON usage_warnings (tenant_id, created_at);
SELECT tenantry_internal.enable_tenant_rls('usage_warnings');

-- The rollup job's watermark: a single row, locked by the run that holds it.
CREATE TABLE usage_rollup_state (
  id          boolean PRIMARY KEY DEFAULT true CHECK (id),
  watermark   xid8 NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO usage_rollup_state (watermark) VALUES ('0');

-- Requests append events and warnings and never rewrite them: the only column they may
-- update is deleted_at (tenant soft delete). Rollups are written by the service role only.
SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT', 'usage_metrics');
SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT, INSERT, UPDATE (deleted_at)', 'usage_events');
SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT, UPDATE (deleted_at)', 'usage_rollups');
SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT, INSERT, UPDATE', 'usage_counters');
SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT, INSERT, UPDATE (deleted_at)', 'usage_warnings');
SELECT tenantry_internal.grant_to('tenantry.service_role', 'SELECT, INSERT, UPDATE', 'usage_metrics');
SELECT tenantry_internal.grant_to('tenantry.service_role', 'SELECT, UPDATE', 'usage_rollup_state');
SELECT tenantry_internal.grant_to('tenantry.service_role', 'SELECT, INSERT, UPDATE, DELETE', t)
  FROM unnest(ARRAY['usage_events', 'usage_rollups', 'usage_counters', 'usage_warnings']::regclass[]) AS t;

-- Down Migration
DROP TABLE usage_rollup_state, usage_warnings, usage_counters, usage_rollups, usage_events, usage_metrics;
