-- Up Migration
-- Invoices: a tenant table like any of Tenantry's own. tenant_id comes first, every key and
-- unique index carries it, and tenantry.tenant_table() turns row-level security on (forced),
-- adds one policy per command and grants the app and service roles.

CREATE TABLE invoices (
  tenant_id       uuid NOT NULL REFERENCES tenants (id),
  id              uuid NOT NULL,
  number          text NOT NULL CHECK (length(number) BETWEEN 1 AND 40),
  customer_email  text NOT NULL CHECK (length(customer_email) BETWEEN 3 AND 320),
  amount_cents    integer NOT NULL CHECK (amount_cents > 0),
  currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'overdue', 'void')),
  due_at          timestamptz NOT NULL,
  voided_at       timestamptz,
  created_by      uuid REFERENCES users (id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  deleted_at      timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX invoices_number_key ON invoices (tenant_id, number) WHERE deleted_at IS NULL;
CREATE INDEX invoices_tenant_created_idx ON invoices (tenant_id, created_at, id);
CREATE INDEX invoices_tenant_open_due_idx ON invoices (tenant_id, due_at) WHERE status = 'open' AND deleted_at IS NULL;
SELECT tenantry.tenant_table('invoices');

-- Down Migration
DROP TABLE invoices;
