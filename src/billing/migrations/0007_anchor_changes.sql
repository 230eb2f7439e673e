-- Up Migration
-- With Stripe, the subscription's billing cycle anchor is Stripe's, not the tenant's creation: a
-- subscription opened at an upgrade or a Checkout starts its own cycle. tenants.billing_anchor
-- follows it (customer.subscription.created / updated), and each move is recorded here with the
-- instant it cut the local periods at: the periods before cut_at follow from_anchor, the one
-- running at the cut ends there (its usage so far is invoiced on its own), and from cut_at on
-- the periods follow to_anchor. Rare (a handful per tenant), read whole by the period-end job.
CREATE TABLE billing_anchor_changes (
  tenant_id          uuid NOT NULL REFERENCES tenants (id),
  id                 uuid NOT NULL,
  from_anchor        timestamptz NOT NULL,
  to_anchor          timestamptz NOT NULL CHECK (to_anchor > from_anchor),
  cut_at             timestamptz NOT NULL CHECK (cut_at = date_trunc('hour', cut_at)),
  -- The subscription and the event (its `created`) that moved it.
  subscription_ref   text NOT NULL CHECK (length(subscription_ref) <= 255),
  event_created_at   timestamptz NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  deleted_at         timestamptz,
  PRIMARY KEY (tenant_id, id)
);
-- Cuts only move forward: one per instant.
CREATE UNIQUE INDEX billing_anchor_changes_cut_key ON billing_anchor_changes (tenant_id, cut_at);
CREATE INDEX billing_anchor_changes_tenant_created_idx ON billing_anchor_changes (tenant_id, created_at);
SELECT tenantry.tenant_table('billing_anchor_changes', 'SELECT, UPDATE (deleted_at)');

-- Down Migration
DROP TABLE billing_anchor_changes;
