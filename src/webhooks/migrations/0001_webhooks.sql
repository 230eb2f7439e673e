-- Up Migration
-- Outbound tenant webhooks: a tenant's endpoints (each with its signing secret, encrypted at
-- rest), the events published for it, one delivery per event and endpoint, and each attempt
-- of a delivery. All four are tenant tables: both isolation layers, tenant deletion and purge
-- cover them.

CREATE TABLE webhook_endpoints (
  tenant_id                   uuid NOT NULL REFERENCES tenants (id),
  id                          uuid NOT NULL,
  url                         text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
  description                 text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
  -- The event types sent here; NULL: every type.
  event_types                 text[] CHECK (cardinality(event_types) BETWEEN 1 AND 50),
  enabled                     boolean NOT NULL DEFAULT true,
  -- AES-256-GCM of the whsec_ secret under the server's webhook key (never a hash: signing
  -- needs the secret itself). Bound to tenant and endpoint, so a copied value never decrypts.
  secret_ciphertext           text NOT NULL,
  -- The secret a rotation replaced keeps signing beside the new one until it expires.
  previous_secret_ciphertext  text,
  overlap_ends_at             timestamptz,
  created_at                  timestamptz NOT NULL DEFAULT now(),
  updated_at                  timestamptz NOT NULL DEFAULT now(),
  deleted_at                  timestamptz,
  PRIMARY KEY (tenant_id, id),
  CHECK ((previous_secret_ciphertext IS NULL) = (overlap_ends_at IS NULL))
);
CREATE INDEX webhook_endpoints_tenant_created_idx ON webhook_endpoints (tenant_id, created_at, id);
SELECT tenantry.tenant_table('webhook_endpoints');

-- What happened, once: the body every delivery of it sends is built from this row.
CREATE TABLE webhook_events (
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  id          uuid NOT NULL,
  type        text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$' AND length(type) <= 100),
  data        jsonb NOT NULL CHECK (octet_length(data::text) <= 65536),
  -- A publisher's key for "this event, once" (a threshold per period, a payment's id).
  dedup_key   text CHECK (length(dedup_key) BETWEEN 1 AND 200),
  created_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX webhook_events_dedup_key ON webhook_events (tenant_id, dedup_key) WHERE dedup_key IS NOT NULL;
CREATE INDEX webhook_events_tenant_created_idx ON webhook_events (tenant_id, created_at, id);
SELECT tenantry.tenant_table('webhook_events', 'SELECT, INSERT, UPDATE (deleted_at)');

CREATE TABLE webhook_deliveries (
  tenant_id           uuid NOT NULL REFERENCES tenants (id),
  id                  uuid NOT NULL,
  event_id            uuid NOT NULL,
  endpoint_id         uuid NOT NULL,
  status              text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  -- Attempts finished; a job for attempt n runs only while this is n (a job run twice sends once).
  -- Retries stop TENANTRY_WEBHOOK_RETRY_WINDOW_SECONDS after created_at (read when each runs).
  attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- Set while an attempt is on the wire; a run that died mid-attempt is retried once it passes.
  claimed_until       timestamptz,
  next_attempt_at     timestamptz,
  last_status_code    integer,
  last_error          text CHECK (length(last_error) <= 1000),
  replay_of           uuid,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  deleted_at          timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, event_id) REFERENCES webhook_events (tenant_id, id),
  FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id)
);
CREATE INDEX webhook_deliveries_tenant_created_idx ON webhook_deliveries (tenant_id, created_at, id);
CREATE INDEX webhook_deliveries_tenant_endpoint_idx ON webhook_deliveries (tenant_id, endpoint_id, created_at, id);
SELECT tenantry.tenant_table('webhook_deliveries', 'SELECT, INSERT, UPDATE');

-- The delivery log: one row per attempt, appended and never changed by requests.
CREATE TABLE webhook_attempts (
  tenant_id      uuid NOT NULL REFERENCES tenants (id),
  id             uuid NOT NULL,
  delivery_id    uuid NOT NULL,
  attempt        integer NOT NULL CHECK (attempt >= 1),
  outcome        text NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
  status_code    integer,
  duration_ms    integer NOT NULL CHECK (duration_ms >= 0),
  error          text CHECK (length(error) <= 1000),
  -- The first bytes of the receiver's answer, for the tenant's own debugging.
  response_body  text CHECK (length(response_body) <= 2048),
  created_at     timestamptz NOT NULL DEFAULT now(),
  deleted_at     timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, delivery_id) REFERENCES webhook_deliveries (tenant_id, id)
);
CREATE UNIQUE INDEX webhook_attempts_delivery_attempt ON webhook_attempts (tenant_id, delivery_id, attempt);
CREATE INDEX webhook_attempts_tenant_created_idx ON webhook_attempts (tenant_id, created_at, id);
SELECT tenantry.tenant_table('webhook_attempts', 'SELECT, INSERT, UPDATE (deleted_at)');

-- Down Migration
DROP TABLE webhook_attempts, webhook_deliveries, webhook_events, webhook_endpoints;
