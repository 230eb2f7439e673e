-- Up Migration
-- Realtime: each tenant's events in the order the outbox relay sequenced them, kept for a
-- bounded window so that a client reconnecting with its last sequence gets what it missed.
-- The relay delivers one tenant at a time (an advisory lock per tenant), so the counter in
-- realtime_sequences is bumped in commit order by one writer per tenant, never by the
-- concurrent transactions that made the changes.

CREATE TABLE realtime_sequences (
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  -- The sequence of the tenant's newest event; the next one gets last_seq + 1.
  last_seq    bigint NOT NULL CHECK (last_seq > 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz,
  PRIMARY KEY (tenant_id)
);
SELECT tenantry.tenant_table('realtime_sequences', 'SELECT, INSERT, UPDATE');

CREATE TABLE realtime_events (
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  seq         bigint NOT NULL CHECK (seq > 0),
  -- The outbox row it came from: the relay delivers at least once, and a second delivery
  -- finds its event here instead of taking a new sequence.
  outbox_id   uuid NOT NULL,
  channel     text NOT NULL CHECK (length(channel) BETWEEN 1 AND 40),
  type        text NOT NULL CHECK (length(type) BETWEEN 1 AND 80),
  -- Ids and a few fields, never content: the client fetches what it needs over the API.
  data        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object' AND octet_length(data::text) <= 4096),
  -- The agent an agent-scoped channel's event concerns (memories); null for the others.
  agent_id    uuid,
  created_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz,
  PRIMARY KEY (tenant_id, seq)
);
CREATE UNIQUE INDEX realtime_events_outbox_key ON realtime_events (tenant_id, outbox_id);
CREATE INDEX realtime_events_tenant_created_idx ON realtime_events (tenant_id, created_at);
-- Pruned by the sequencer itself (the oldest beyond the retention window), so DELETE too.
SELECT tenantry.tenant_table('realtime_events', 'SELECT, INSERT, DELETE, UPDATE (deleted_at)');

-- Plans limit the WebSocket connections a tenant holds at once, across instances
-- (realtime_connections); src/plans/catalog.json has the same values. Audited like every
-- change of platform data; an operator's own value is kept.
WITH before AS (
  SELECT key, limits FROM plans
), wanted (key, connections) AS (
  VALUES ('free', '5'::jsonb), ('pro', '25'::jsonb), ('promax', '100'::jsonb), ('enterprise', 'null'::jsonb)
), changed AS (
  UPDATE plans p
     SET limits = jsonb_build_object('realtime_connections', w.connections) || p.limits, updated_at = now()
    FROM before b, wanted w
   WHERE b.key = p.key AND w.key = p.key
  RETURNING p.key, b.limits AS before, p.limits AS after
)
INSERT INTO platform_audit_log (id, actor, action, target, before, after)
  SELECT gen_random_uuid(), 'system', 'plan.limits_changed', 'plan:' || key,
         jsonb_build_object('limits', before), jsonb_build_object('limits', after, 'reason', 'realtime connection limits')
    FROM changed WHERE before IS DISTINCT FROM after;

-- Down Migration
UPDATE plans SET limits = limits - 'realtime_connections', updated_at = now();
DROP TABLE realtime_events;
DROP TABLE realtime_sequences;
