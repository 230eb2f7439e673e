-- Up Migration
-- Every change of a tenant's plan, when it took effect, so the period-end job can bill each part
-- of a period at the plan the tenant was on then (prorated by time) instead of billing the whole
-- period at the plan it is on when the period closes. Written in the unit that changes
-- tenants.plan (plan changes, and a Stripe subscription that ended); read by the service role.
CREATE TABLE billing_plan_changes (
  tenant_id          uuid NOT NULL REFERENCES tenants (id),
  id                 uuid NOT NULL,
  from_plan          text NOT NULL CHECK (length(from_plan) <= 40),
  to_plan            text NOT NULL CHECK (length(to_plan) <= 40),
  changed_at         timestamptz NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  deleted_at         timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX billing_plan_changes_tenant_changed_idx ON billing_plan_changes (tenant_id, changed_at);
CREATE INDEX billing_plan_changes_tenant_created_idx ON billing_plan_changes (tenant_id, created_at);
SELECT tenantry.tenant_table('billing_plan_changes', 'SELECT, UPDATE (deleted_at)');

-- Down Migration
DROP TABLE billing_plan_changes;
