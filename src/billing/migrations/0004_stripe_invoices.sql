-- Up Migration
-- With Stripe, Stripe's invoices are paid or fail, and the local invoice of the same period must
-- say so. Each invoice event records which Stripe invoice it is about (object_ref) and the instant
-- that names its local period (period_at: the middle of the period the Stripe invoice covers),
-- so the local invoice can be brought in line from every event of its period whenever either
-- side arrives: the event before the local invoice is issued (the period-end job waits out the
-- late-usage grace), or after. The Stripe invoice's id is kept on the local invoice
-- (billing_invoices.provider_ref, from 0001).
ALTER TABLE billing_provider_events
  ADD COLUMN object_ref text CHECK (length(object_ref) <= 255),
  ADD COLUMN period_at timestamptz;
CREATE INDEX billing_provider_events_period_idx ON billing_provider_events (tenant_id, period_at) WHERE period_at IS NOT NULL;

-- Down Migration
DROP INDEX billing_provider_events_period_idx;
ALTER TABLE billing_provider_events DROP COLUMN period_at, DROP COLUMN object_ref;
