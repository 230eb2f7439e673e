-- Up Migration
-- Stripe: the provider events applied (each once: the event id commits with its effect), and the
-- ledger of metered usage reported to the provider (each period's quantity per metric once, for
-- longer than Stripe's own 24-hour de-duplication of meter event identifiers). Tenant tables
-- written only by the service role, like the rest of billing.

CREATE TABLE billing_provider_events (
  tenant_id          uuid NOT NULL REFERENCES tenants (id),
  id                 uuid NOT NULL,
  provider           text NOT NULL CHECK (provider IN ('stripe')),
  -- Stripe's evt_...; a redelivery of the same event finds it here and changes nothing.
  event_id           text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 255),
  event_type         text NOT NULL CHECK (length(event_type) BETWEEN 1 AND 100),
  -- The event's `created`, as the provider stamped it.
  event_created_at   timestamptz NOT NULL,
  -- False: recorded but not applied (older than the last event applied to the account).
  applied            boolean NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  deleted_at         timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX billing_provider_events_event_key ON billing_provider_events (tenant_id, provider, event_id);
CREATE INDEX billing_provider_events_tenant_created_idx ON billing_provider_events (tenant_id, created_at);
SELECT tenantry.tenant_table('billing_provider_events', 'SELECT, UPDATE (deleted_at)');

CREATE TABLE billing_usage_reports (
  tenant_id          uuid NOT NULL REFERENCES tenants (id),
  id                 uuid NOT NULL,
  invoice_id         uuid NOT NULL,
  metric             text NOT NULL CHECK (length(metric) <= 64),
  period_start       timestamptz NOT NULL,
  period_end         timestamptz NOT NULL CHECK (period_end > period_start),
  quantity           bigint NOT NULL CHECK (quantity >= 0),
  -- The meter event's identifier, derived from tenant, metric and period: the same on every run.
  identifier         text NOT NULL CHECK (length(identifier) BETWEEN 1 AND 100),
  -- Null until the provider accepted it; a row still null is sent again (same identifier).
  reported_at        timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now(),
  deleted_at         timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES billing_invoices (tenant_id, id)
);
CREATE UNIQUE INDEX billing_usage_reports_identifier_key ON billing_usage_reports (tenant_id, identifier);
CREATE INDEX billing_usage_reports_tenant_created_idx ON billing_usage_reports (tenant_id, created_at);
CREATE INDEX billing_usage_reports_pending_idx ON billing_usage_reports (created_at) WHERE reported_at IS NULL;
SELECT tenantry.tenant_table('billing_usage_reports', 'SELECT, UPDATE (deleted_at)');

-- Down Migration
DROP TABLE billing_usage_reports, billing_provider_events;
