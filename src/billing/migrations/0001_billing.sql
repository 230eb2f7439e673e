-- Up Migration
-- Billing: each tenant's billing account (its provider, subscription anchor, dunning state),
-- its invoices and their lines, and (Stripe) a ledger of the usage reported to the provider.
-- All are tenant tables whose app-role grant is SELECT and UPDATE of deleted_at only: a tenant
-- reads its billing (and deleting the tenant stamps its rows), and only the service role
-- (billing runs, operator actions, provider webhooks) writes it otherwise, so no tenant request
-- can change what it is billed, and a suspended tenant's billing still moves.

CREATE TABLE billing_accounts (
  tenant_id          uuid NOT NULL REFERENCES tenants (id),
  id                 uuid NOT NULL,
  provider           text NOT NULL CHECK (provider IN ('local', 'stripe')),
  -- The provider's ids (Stripe: cus_..., sub_...); null with the local provider.
  customer_ref       text CHECK (length(customer_ref) <= 255),
  subscription_ref   text CHECK (length(subscription_ref) <= 255),
  has_payment_method boolean NOT NULL DEFAULT false,
  -- A downgrade waiting for the period end; applied by the period-end job.
  scheduled_plan     text CHECK (length(scheduled_plan) <= 40),
  -- Set on active -> past_due, cleared on payment: the grace period counts from here.
  past_due_since     timestamptz,
  -- The `created` of the last provider event applied, so an older one arriving late is ignored.
  provider_event_at  timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  deleted_at         timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX billing_accounts_tenant_key ON billing_accounts (tenant_id);
CREATE UNIQUE INDEX billing_accounts_customer_key ON billing_accounts (provider, customer_ref) WHERE customer_ref IS NOT NULL;
CREATE INDEX billing_accounts_tenant_created_idx ON billing_accounts (tenant_id, created_at);
CREATE INDEX billing_accounts_past_due_idx ON billing_accounts (past_due_since) WHERE past_due_since IS NOT NULL;
SELECT tenantry.tenant_table('billing_accounts', 'SELECT, UPDATE (deleted_at)');

-- One invoice per tenant and period: draft while the period runs, open once closed, then paid
-- or void. Amounts in cents; the lines add up to total_cents.
CREATE TABLE billing_invoices (
  tenant_id          uuid NOT NULL REFERENCES tenants (id),
  id                 uuid NOT NULL,
  period_start       timestamptz NOT NULL,
  period_end         timestamptz NOT NULL CHECK (period_end > period_start),
  plan               text NOT NULL CHECK (length(plan) <= 40),
  currency           text NOT NULL DEFAULT 'usd' CHECK (currency ~ '^[a-z]{3}$'),
  status             text NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'void')),
  total_cents        bigint NOT NULL CHECK (total_cents >= 0),
  issued_at          timestamptz,
  paid_at            timestamptz,
  voided_at          timestamptz,
  -- The last failed payment attempt (dunning); the invoice stays open.
  payment_failed_at  timestamptz,
  provider_ref       text CHECK (length(provider_ref) <= 255),
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  deleted_at         timestamptz,
  PRIMARY KEY (tenant_id, id),
  CHECK ((status = 'paid') = (paid_at IS NOT NULL)),
  CHECK ((status = 'void') = (voided_at IS NOT NULL)),
  CHECK (status = 'draft' OR issued_at IS NOT NULL)
);
-- Closing a period twice finds the invoice already there: the period-end job is idempotent.
CREATE UNIQUE INDEX billing_invoices_period_key ON billing_invoices (tenant_id, period_start);
CREATE INDEX billing_invoices_tenant_created_idx ON billing_invoices (tenant_id, created_at);
SELECT tenantry.tenant_table('billing_invoices', 'SELECT, UPDATE (deleted_at)');

CREATE TABLE billing_invoice_lines (
  tenant_id          uuid NOT NULL REFERENCES tenants (id),
  id                 uuid NOT NULL,
  invoice_id         uuid NOT NULL,
  position           integer NOT NULL CHECK (position >= 0),
  kind               text NOT NULL CHECK (kind IN ('plan', 'overage')),
  metric             text CHECK (length(metric) <= 64),
  description        text NOT NULL CHECK (length(description) BETWEEN 1 AND 200),
  quantity           bigint NOT NULL CHECK (quantity >= 0),
  -- Overage: what the plan includes, and the price per unit in thousandths of a cent.
  included           bigint CHECK (included >= 0),
  unit_price_millicents bigint CHECK (unit_price_millicents >= 0),
  amount_cents       bigint NOT NULL CHECK (amount_cents >= 0),
  created_at         timestamptz NOT NULL DEFAULT now(),
  deleted_at         timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES billing_invoices (tenant_id, id),
  CHECK ((kind = 'overage') = (metric IS NOT NULL))
);
CREATE UNIQUE INDEX billing_invoice_lines_position_key ON billing_invoice_lines (tenant_id, invoice_id, position);
CREATE INDEX billing_invoice_lines_tenant_created_idx ON billing_invoice_lines (tenant_id, created_at);
SELECT tenantry.tenant_table('billing_invoice_lines', 'SELECT, UPDATE (deleted_at)');

-- Down Migration
DROP TABLE billing_invoice_lines, billing_invoices, billing_accounts;
