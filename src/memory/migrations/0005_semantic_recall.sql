-- Up Migration
-- Semantic recall, where the database has pgvector: memories may carry an embedding (its
-- dimension fixed per tenant by memory_settings.embedding_dimension) and recall may pass one.
--
-- pgvector is not a trusted extension: only a superuser may create it. The migration runs as the
-- owner role; when the login behind it is a superuser and the server has pgvector, it creates
-- the extension, otherwise it leaves the database text-only and says why (NOTICE). The column,
-- its HNSW indexes and the content trigger exist only with the extension. The two functions
-- below always exist, so the app's SQL is the same everywhere: without pgvector they raise
-- TNV01, and the app answers text-only (recall) or 400 (a store with an embedding).

ALTER TABLE memory_settings ADD COLUMN embedding_dimension integer CHECK (embedding_dimension BETWEEN 1 AND 2000);

DO $$
DECLARE
  migrator constant text := current_user;
  superuser boolean;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
      RAISE NOTICE 'pgvector is not installed on this server: memories are recalled by text only';
      RETURN;
    END IF;
    SELECT rolsuper INTO superuser FROM pg_roles WHERE rolname = session_user;
    IF NOT superuser THEN
      RAISE NOTICE 'pgvector is installed but % may not create it: a superuser runs CREATE EXTENSION vector before this migration; recall stays text-only', session_user;
      RETURN;
    END IF;
    PERFORM set_config('role', 'none', true);
    CREATE EXTENSION vector;
    PERFORM set_config('role', migrator, true);
  END IF;
  ALTER TABLE memories ADD COLUMN embedding vector;
  -- HNSW needs a fixed dimension: one partial index per common embedding size (other sizes are
  -- compared exactly, within the tenant's rows of that size).
  CREATE INDEX memories_embedding_384_idx ON memories USING hnsw ((embedding::vector(384)) vector_cosine_ops)
    WHERE embedding IS NOT NULL AND vector_dims(embedding) = 384 AND deleted_at IS NULL;
  CREATE INDEX memories_embedding_768_idx ON memories USING hnsw ((embedding::vector(768)) vector_cosine_ops)
    WHERE embedding IS NOT NULL AND vector_dims(embedding) = 768 AND deleted_at IS NULL;
  CREATE INDEX memories_embedding_1024_idx ON memories USING hnsw ((embedding::vector(1024)) vector_cosine_ops)
    WHERE embedding IS NOT NULL AND vector_dims(embedding) = 1024 AND deleted_at IS NULL;
  CREATE INDEX memories_embedding_1536_idx ON memories USING hnsw ((embedding::vector(1536)) vector_cosine_ops)
    WHERE embedding IS NOT NULL AND vector_dims(embedding) = 1536 AND deleted_at IS NULL;
END $$;

-- An embedding describes the content it came with: new content (an update, or erasure's
-- pseudonymising) clears it, so no embedding outlives the words it was made from.
CREATE FUNCTION tenantry_memory.clear_stale_embedding() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF NEW.content IS DISTINCT FROM OLD.content THEN
    NEW := jsonb_populate_record(NEW, '{"embedding": null}');
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION tenantry_memory.clear_stale_embedding() FROM PUBLIC;
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'memories'::regclass AND attname = 'embedding' AND NOT attisdropped) THEN
    CREATE TRIGGER memories_clear_stale_embedding BEFORE UPDATE OF content ON memories
      FOR EACH ROW EXECUTE FUNCTION tenantry_memory.clear_stale_embedding();
  END IF;
END $$;

-- Stores a memory's embedding, as the app role under both layers (SECURITY INVOKER): the store
-- has checked its length against the tenant's dimension. Returns the dimension stored.
CREATE FUNCTION tenantry_memory.store_embedding(memory uuid, embedding real[])
RETURNS TABLE (dimension integer)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'memories'::regclass AND attname = 'embedding' AND NOT attisdropped) THEN
    RAISE EXCEPTION 'this database has no pgvector' USING ERRCODE = 'TNV01';
  END IF;
  RETURN QUERY EXECUTE
    'UPDATE memories SET embedding = $2::vector
      WHERE tenant_id = nullif(current_setting(''app.tenant_id'', true), '''')::uuid AND id = $1 AND deleted_at IS NULL
      RETURNING vector_dims(embedding)'
    USING memory, embedding;
END $$;
REVOKE ALL ON FUNCTION tenantry_memory.store_embedding(uuid, real[]) FROM PUBLIC;

-- Recall's vector arm: the k live memories nearest to `query` by cosine distance, in the tenant of
-- the transaction's app.tenant_id only, narrowed by the recall's filters, with their similarity
-- (1 - cosine distance) and rank. Run as the service role for the same reason and with the same
-- confinement as recall_candidates (migration 0002); recall reads the rows as the app role. An
-- HNSW scan finds nearest neighbours across tenants first: iterative scans keep reading the index
-- until k rows of this tenant are found, so other tenants' nearer vectors never crowd it out.
-- Raises TNV01 without pgvector and TNV22 when the query's length is not the tenant's dimension.
CREATE FUNCTION tenantry_memory.vector_candidates(
  query           real[],
  agent           uuid,
  zones           text[],
  tags            text[],
  since           timestamptz,
  until           timestamptz,
  min_importance  real,
  k               integer
)
RETURNS TABLE (id uuid, vector_score float8, vector_rank bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
ROWS 100
AS $$
DECLARE
  v_tenant constant uuid := nullif(current_setting('app.tenant_id', true), '')::uuid;
  v_dimension integer;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'memories'::regclass AND attname = 'embedding' AND NOT attisdropped) THEN
    RAISE EXCEPTION 'this database has no pgvector' USING ERRCODE = 'TNV01';
  END IF;
  SELECT s.embedding_dimension INTO v_dimension FROM memory_settings s WHERE s.tenant_id = v_tenant AND s.deleted_at IS NULL;
  IF v_dimension IS NULL OR cardinality(query) IS DISTINCT FROM v_dimension THEN
    RAISE EXCEPTION 'the embedding has % numbers; the tenant''s embedding dimension is %', cardinality(query), coalesce(v_dimension::text, 'not set')
      USING ERRCODE = 'TNV22';
  END IF;
  -- For this transaction only (a function's own SET clause may not name an extension's setting
  -- unless a superuser creates it): keep scanning the index past other tenants' rows.
  PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);
  PERFORM set_config('hnsw.ef_search', greatest(40, least(k, 1000))::text, true);
  RETURN QUERY EXECUTE format($q$
    SELECT n.id, n.similarity, row_number() OVER (ORDER BY n.distance, n.id)
      FROM (SELECT m.id, (m.embedding::vector(%1$s) <=> $1::vector(%1$s))::float8 AS distance,
                   (1 - (m.embedding::vector(%1$s) <=> $1::vector(%1$s)))::float8 AS similarity
              FROM memories m
             WHERE m.tenant_id = $2 AND m.deleted_at IS NULL
               AND m.embedding IS NOT NULL AND vector_dims(m.embedding) = %1$s
               AND ($3::uuid IS NULL OR m.agent_id = $3)
               AND ($4::text[] IS NULL OR m.zone = ANY ($4))
               AND ($5::text[] IS NULL OR m.tags @> $5)
               AND ($6::timestamptz IS NULL OR m.created_at >= $6)
               AND ($7::timestamptz IS NULL OR m.created_at < $7)
               AND ($8::real IS NULL OR m.importance >= $8)
             ORDER BY m.embedding::vector(%1$s) <=> $1::vector(%1$s)
             LIMIT $9) n
    $q$, v_dimension)
    USING query, v_tenant, agent, zones, tags, since, until, min_importance, k;
END $$;
REVOKE ALL ON FUNCTION tenantry_memory.vector_candidates(real[], uuid, text[], text[], timestamptz, timestamptz, real, integer) FROM PUBLIC;

-- Handed to the service role as in migration 0002 (which says why it takes these steps).
DO $$
DECLARE
  migrator constant text := current_user;
  service constant text := current_setting('tenantry.service_role');
  app constant text := current_setting('tenantry.app_role');
BEGIN
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_memory.store_embedding(uuid, real[]) TO %I', app);
  EXECUTE format('GRANT CREATE ON SCHEMA tenantry_memory TO %I', service);
  PERFORM set_config('role', 'none', true);
  EXECUTE format('ALTER FUNCTION tenantry_memory.vector_candidates(real[], uuid, text[], text[], timestamptz, timestamptz, real, integer) OWNER TO %I', service);
  EXECUTE format('GRANT EXECUTE ON FUNCTION tenantry_memory.vector_candidates(real[], uuid, text[], text[], timestamptz, timestamptz, real, integer) TO %I, %I', app, migrator);
  PERFORM set_config('role', migrator, true);
  EXECUTE format('REVOKE CREATE ON SCHEMA tenantry_memory FROM %I', service);
END $$;

-- Down Migration
DROP FUNCTION tenantry_memory.vector_candidates(real[], uuid, text[], text[], timestamptz, timestamptz, real, integer);
DROP FUNCTION tenantry_memory.store_embedding(uuid, real[]);
DROP TRIGGER IF EXISTS memories_clear_stale_embedding ON memories;
DROP FUNCTION tenantry_memory.clear_stale_embedding();
ALTER TABLE memories DROP COLUMN IF EXISTS embedding;
ALTER TABLE memory_settings DROP COLUMN embedding_dimension;
