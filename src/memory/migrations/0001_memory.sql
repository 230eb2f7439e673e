-- Up Migration
-- Agent memory: agents, their memories, each memory's earlier versions, and the tenant's
-- ranking settings. Every table is a tenant table (tenant_id first, in every key, unique index
-- and foreign key, registered with tenantry.tenant_table), so both isolation layers, tenant
-- deletion and purge cover it. pg_trgm and btree_gin are trusted extensions: the owner role
-- the migration runs as may create them with CREATE on the database, which it has.

CREATE EXTENSION IF NOT EXISTS pg_trgm;
-- btree_gin lets a GIN index lead with tenant_id (a uuid), so text and trigram searches are
-- narrowed to one tenant inside the index, not after it.
CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE TABLE agents (
  tenant_id    uuid NOT NULL REFERENCES tenants (id),
  id           uuid NOT NULL,
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  description  text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
  -- Nullable so that erasure can empty it (personal data); read as {} when null.
  metadata     jsonb CHECK (jsonb_typeof(metadata) = 'object' AND octet_length(metadata::text) <= 16384),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  deleted_at   timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX agents_name_key ON agents (tenant_id, lower(name)) WHERE deleted_at IS NULL;
CREATE INDEX agents_tenant_created_idx ON agents (tenant_id, created_at, id);
SELECT tenantry.tenant_table('agents');

CREATE TABLE memories (
  tenant_id            uuid NOT NULL REFERENCES tenants (id),
  id                   uuid NOT NULL,
  agent_id             uuid,
  content              text NOT NULL CHECK (length(content) BETWEEN 1 AND 8000),
  -- What storage_bytes meters, kept beside the row so the tenant's total is an index-only sum.
  content_bytes        integer NOT NULL GENERATED ALWAYS AS (octet_length(content)) STORED,
  -- Full-text search in English (stemmed); trigrams catch the words it misses (names, typos).
  search               tsvector NOT NULL GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
  importance           real NOT NULL DEFAULT 0.5 CHECK (importance BETWEEN 0 AND 1),
  -- Nullable so that erasure can empty them (personal data); read as [] and {} when null.
  tags                 text[] CHECK (cardinality(tags) <= 20),
  metadata             jsonb CHECK (jsonb_typeof(metadata) = 'object' AND octet_length(metadata::text) <= 16384),
  zone                 text NOT NULL DEFAULT 'outer' CHECK (zone IN ('core', 'inner', 'outer', 'belt', 'cloud')),
  -- The orbit score the zone was last chosen by (importance, recency, use), in 0..1.
  orbit_score          real NOT NULL DEFAULT 0 CHECK (orbit_score BETWEEN 0 AND 1),
  version              integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  -- Near-duplicates stored again reinforce the memory instead of copying it.
  reinforcement_count  integer NOT NULL DEFAULT 0 CHECK (reinforcement_count >= 0),
  recall_count         integer NOT NULL DEFAULT 0 CHECK (recall_count >= 0),
  last_recalled_at     timestamptz,
  idempotency_key      text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  deleted_at           timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id)
);
-- A retried store finds the memory its key made, forgotten or not: the key is never reused.
CREATE UNIQUE INDEX memories_idempotency_key ON memories (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX memories_search_idx ON memories USING gin (tenant_id, search) WHERE deleted_at IS NULL;
CREATE INDEX memories_trigram_idx ON memories USING gin (tenant_id, content gin_trgm_ops) WHERE deleted_at IS NULL;
-- Timeline pages, and the live count and byte total the plan limit and metering read.
CREATE INDEX memories_tenant_created_idx ON memories (tenant_id, created_at, id) INCLUDE (content_bytes) WHERE deleted_at IS NULL;
CREATE INDEX memories_tenant_agent_created_idx ON memories (tenant_id, agent_id, created_at, id) WHERE deleted_at IS NULL;
SELECT tenantry.tenant_table('memories');

-- Each earlier version of a memory, written when an update replaces it: append-only for
-- requests (they may insert and read, and only tenant deletion stamps deleted_at).
CREATE TABLE memory_versions (
  tenant_id    uuid NOT NULL REFERENCES tenants (id),
  -- UUIDv7: with replaced_at, the key the history is paged by.
  id           uuid NOT NULL,
  memory_id    uuid NOT NULL,
  version      integer NOT NULL CHECK (version >= 1),
  content      text NOT NULL CHECK (length(content) BETWEEN 1 AND 8000),
  importance   real NOT NULL CHECK (importance BETWEEN 0 AND 1),
  tags         text[],
  metadata     jsonb,
  -- When this version was written, and when the next one replaced it.
  written_at   timestamptz NOT NULL,
  replaced_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at   timestamptz,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, memory_id, version),
  FOREIGN KEY (tenant_id, memory_id) REFERENCES memories (tenant_id, id)
);
CREATE INDEX memory_versions_history_idx ON memory_versions (tenant_id, memory_id, replaced_at, id);
SELECT tenantry.tenant_table('memory_versions', 'SELECT, INSERT, UPDATE (deleted_at)');

-- The tenant's recall and zone settings; a tenant without a row uses the documented defaults.
CREATE TABLE memory_settings (
  tenant_id                uuid NOT NULL REFERENCES tenants (id),
  relevance_weight         real NOT NULL CHECK (relevance_weight BETWEEN 0 AND 1),
  importance_weight        real NOT NULL CHECK (importance_weight BETWEEN 0 AND 1),
  recency_weight           real NOT NULL CHECK (recency_weight BETWEEN 0 AND 1),
  frequency_weight         real NOT NULL CHECK (frequency_weight BETWEEN 0 AND 1),
  recency_half_life_hours  real NOT NULL CHECK (recency_half_life_hours BETWEEN 1 AND 87600),
  duplicate_threshold      real NOT NULL CHECK (duplicate_threshold BETWEEN 0.3 AND 1),
  updated_at               timestamptz NOT NULL DEFAULT now(),
  deleted_at               timestamptz,
  PRIMARY KEY (tenant_id),
  CHECK (relevance_weight + importance_weight + recency_weight + frequency_weight > 0)
);
SELECT tenantry.tenant_table('memory_settings', 'SELECT, INSERT, UPDATE');

-- Memories are now stored here, so their plan limit is enforced: the metric becomes a level
-- (live memories, never reset) refused at the limit, like seats and agents.
UPDATE usage_metrics
   SET aggregation = 'max', resets = false, enforcement = 'hard', description = 'Live (not forgotten) agent memories of the tenant'
 WHERE key = 'memories';
UPDATE usage_metrics SET description = 'Bytes of live agent memory content (the level after each change)' WHERE key = 'storage_bytes';

-- The plans limit memories again (migration 0008 took the unenforced limit away). An
-- operator's own value is kept; every change is audited like any change of platform data.
WITH wanted (key, memories) AS (
  VALUES ('free', '1000'::jsonb), ('pro', '50000'::jsonb), ('promax', '500000'::jsonb), ('enterprise', 'null'::jsonb)
), before AS (
  SELECT key, limits FROM plans
), changed AS (
  UPDATE plans p
     SET limits = p.limits || jsonb_build_object('memories', w.memories), updated_at = now()
    FROM before b, wanted w
   WHERE b.key = p.key AND w.key = p.key AND NOT p.limits ? 'memories'
  RETURNING p.key, b.limits AS before, p.limits AS after
)
INSERT INTO platform_audit_log (id, actor, action, target, before, after)
  SELECT gen_random_uuid(), 'system', 'plan.limits_changed', 'plan:' || key,
         jsonb_build_object('limits', before), jsonb_build_object('limits', after, 'reason', 'the memory module enforces memories')
    FROM changed;

-- Down Migration
UPDATE plans SET limits = limits - 'memories', updated_at = now() WHERE limits ? 'memories';
UPDATE usage_metrics SET description = 'Bytes stored (peak in the period)' WHERE key = 'storage_bytes';
UPDATE usage_metrics
   SET aggregation = 'count', resets = true, enforcement = 'soft', description = 'Agent memories stored in the period'
 WHERE key = 'memories';
DROP TABLE memory_settings;
DROP TABLE memory_versions;
DROP TABLE memories;
DROP TABLE agents;
