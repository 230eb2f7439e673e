-- Up Migration
-- The API-call meter adds the calls of tenants without an API-call limit straight into their
-- hourly and daily rollups, in its flush's transaction, instead of storing one usage event
-- per tenant and flush for the rollup job to add up a minute later. With traffic spread over
-- thousands of tenants a flush carries about one call per tenant, so each call cost an event
-- row, its queue entry and a share of the rollup job: about 93 µs of PostgreSQL, against 56 µs
-- for adding it into the buckets directly (docs/benchmarks.md), and a usage_events row per
-- call. A flush that committed but whose answer was lost must not be added twice when it is
-- sent again: each flush unit stores its id here, in the same transaction, and a unit whose id
-- is stored already adds nothing. Platform table: no tenant_id, written and read by the
-- service role only, pruned by the meter after four days.
CREATE TABLE api_call_flushes (
  id          uuid PRIMARY KEY,
  flushed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_call_flushes_flushed_idx ON api_call_flushes (flushed_at);
SELECT tenantry_internal.grant_to('tenantry.service_role', 'SELECT, INSERT, DELETE', 'api_call_flushes');

-- Down Migration
-- Calls added since stay in the rollups; only the flush ids go.
DROP TABLE api_call_flushes;
