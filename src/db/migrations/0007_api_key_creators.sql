-- Up Migration
-- Every API key that works traces to a person whose membership and role bound it. A key
-- created with another key used to get no creator, so it outlived the member behind the
-- first key with its full role. Now a minted key inherits the minting key's creator and
-- records the minting key (revoking a key revokes what it minted).

ALTER TABLE api_keys ADD COLUMN created_by_key_id uuid;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_created_by_key_fkey
  FOREIGN KEY (tenant_id, created_by_key_id) REFERENCES api_keys (tenant_id, id);
-- Revocation walks from a key to the keys it minted.
CREATE INDEX api_keys_created_by_key_idx ON api_keys (tenant_id, created_by_key_id) WHERE created_by_key_id IS NOT NULL;

-- Keys stored without a creator cannot be traced to anyone (no minting key was recorded
-- either): they stop working now, and each tenant's audit log says why. As the table owner,
-- which forced row-level security would otherwise limit to no tenant; FORCE is lifted only
-- inside this transaction.
ALTER TABLE api_keys NO FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_log NO FORCE ROW LEVEL SECURITY;
WITH revoked AS (
  UPDATE api_keys SET revoked_at = now()
  WHERE created_by IS NULL AND revoked_at IS NULL
  RETURNING tenant_id, id, name
)
INSERT INTO audit_log (tenant_id, id, actor, action, target, before, after)
  SELECT tenant_id, gen_random_uuid(), 'system', 'api_key.revoked', 'api_key:' || id,
         jsonb_build_object('name', name, 'revoked', false),
         jsonb_build_object('revoked', true, 'reason', 'the key has no creator to answer for it')
  FROM revoked;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;

-- From now on a live key always has a creator. Revoked keys keep their history as it was.
ALTER TABLE api_keys ADD CONSTRAINT api_keys_live_key_has_creator
  CHECK (created_by IS NOT NULL OR revoked_at IS NOT NULL);

-- Down Migration
ALTER TABLE api_keys DROP CONSTRAINT api_keys_live_key_has_creator;
DROP INDEX api_keys_created_by_key_idx;
ALTER TABLE api_keys DROP CONSTRAINT api_keys_created_by_key_fkey;
ALTER TABLE api_keys DROP COLUMN created_by_key_id;
