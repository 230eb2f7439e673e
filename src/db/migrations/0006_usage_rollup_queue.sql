-- Up Migration
-- Rollups claim events by a marker per event instead of an xid watermark. The watermark was
-- the oldest transaction still open anywhere on the server (pg_snapshot_xmin is cluster-wide),
-- so one long transaction in any other database stopped every rollup. Now each inserted event
-- leaves its key in usage_rollup_queue in the same transaction (a statement trigger), and a
-- rollup deletes the keys it can see while it adds their events into the buckets, in one
-- transaction: an event is claimed once it is committed, by one run, and never again.

-- Inserters in flight finish first and new ones wait for this migration, so every event
-- committed before it is queued below and every later one by the trigger.
LOCK TABLE usage_events IN SHARE ROW EXCLUSIVE MODE;

-- Keys of events not rolled up yet. The queue is small (about a minute of events) and
-- written on every ingest, so it carries only its primary key: no foreign key (a lookup per
-- event; a key whose event is gone is simply dropped by the next rollup) and no index on
-- queued_at (the lag reads it with a scan, once a run). The primary key makes a key queued
-- twice fail loudly instead of counting twice; only deleting an event by hand and storing
-- it again before the rollup ran could do that (requests never delete events).
-- deleted_at only because tenant soft delete stamps every tenant table.
CREATE TABLE usage_rollup_queue (
  tenant_id        uuid NOT NULL,
  idempotency_key  text NOT NULL,
  queued_at        timestamptz NOT NULL DEFAULT now(),
  deleted_at       timestamptz,
  PRIMARY KEY (tenant_id, idempotency_key)
);
SELECT tenantry_internal.enable_tenant_rls('usage_rollup_queue');

-- One INSERT per statement, from the rows the statement really inserted (ON CONFLICT DO
-- NOTHING leaves duplicates out of the transition table). Runs as the inserting role, so the
-- app role's row-level security applies to the queue row exactly as to the event.
CREATE FUNCTION tenantry_internal.queue_usage_events_for_rollup()
RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
  INSERT INTO public.usage_rollup_queue (tenant_id, idempotency_key)
    SELECT tenant_id, idempotency_key FROM inserted;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION tenantry_internal.queue_usage_events_for_rollup() FROM PUBLIC;
CREATE TRIGGER usage_events_queue_for_rollup AFTER INSERT ON usage_events
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION tenantry_internal.queue_usage_events_for_rollup();

-- Events committed above the old watermark were never rolled up: queue them. As the table
-- owner, which forced row-level security would otherwise limit to no tenant at all; FORCE
-- is lifted only inside this transaction, under the lock above.
ALTER TABLE usage_events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE usage_rollup_queue NO FORCE ROW LEVEL SECURITY;
INSERT INTO usage_rollup_queue (tenant_id, idempotency_key, queued_at)
  SELECT tenant_id, idempotency_key, created_at FROM usage_events
  WHERE ingest_xid >= (SELECT watermark FROM usage_rollup_state);
ALTER TABLE usage_events FORCE ROW LEVEL SECURITY;
ALTER TABLE usage_rollup_queue FORCE ROW LEVEL SECURITY;

-- The watermark and the per-event transaction id (and its index, a cost on every insert)
-- are no longer read. The state row stays: runs lock it so they never overlap.
ALTER TABLE usage_events DROP COLUMN ingest_xid;
ALTER TABLE usage_rollup_state DROP COLUMN watermark;

-- Requests only append keys (through the trigger); SELECT and UPDATE (deleted_at) as on every
-- tenant table. The rollup, as the service role, deletes what it claims.
SELECT tenantry_internal.grant_to('tenantry.app_role', 'SELECT, INSERT, UPDATE (deleted_at)', 'usage_rollup_queue');
SELECT tenantry_internal.grant_to('tenantry.service_role', 'SELECT, INSERT, UPDATE, DELETE', 'usage_rollup_queue');

-- Down Migration
-- Back to the watermark: events still queued get this transaction's id and the watermark
-- this id, so exactly they are above it; every other event is below (id 0).
LOCK TABLE usage_events IN SHARE ROW EXCLUSIVE MODE;
ALTER TABLE usage_events ADD COLUMN ingest_xid xid8 NOT NULL DEFAULT '0';
ALTER TABLE usage_events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE usage_rollup_queue NO FORCE ROW LEVEL SECURITY;
UPDATE usage_events e SET ingest_xid = pg_current_xact_id()
  FROM usage_rollup_queue q WHERE q.tenant_id = e.tenant_id AND q.idempotency_key = e.idempotency_key;
ALTER TABLE usage_events FORCE ROW LEVEL SECURITY;
ALTER TABLE usage_events ALTER COLUMN ingest_xid SET DEFAULT pg_current_xact_id();
CREATE INDEX usage_events_ingest_xid_idx ON usage_events (ingest_xid);
ALTER TABLE usage_rollup_state ADD COLUMN watermark xid8 NOT NULL DEFAULT '0';
UPDATE usage_rollup_state SET watermark = pg_current_xact_id();
ALTER TABLE usage_rollup_state ALTER COLUMN watermark DROP DEFAULT;
DROP TRIGGER usage_events_queue_for_rollup ON usage_events;
DROP FUNCTION tenantry_internal.queue_usage_events_for_rollup();
DROP TABLE usage_rollup_queue;
