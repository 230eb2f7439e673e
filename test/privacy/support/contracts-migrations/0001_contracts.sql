-- Up Migration
-- A table an adopter's module adds, known to the privacy code only through its declaration.
CREATE TABLE contracts (
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  id            uuid NOT NULL,
  title         text NOT NULL,
  signer_email  text,
  signer_id     uuid REFERENCES users (id),
  token_hash    bytea,
  deleted_at    timestamptz,
  PRIMARY KEY (tenant_id, id)
);
SELECT tenantry.tenant_table('contracts');

-- Down Migration
DROP TABLE contracts;
