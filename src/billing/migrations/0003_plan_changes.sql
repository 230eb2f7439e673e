-- Up Migration
-- A downgrade waits for the end of the billing period it was asked in (billing_accounts
-- .scheduled_plan, from 0001): scheduled_at is when it applies, scheduled_by who asked (for the
-- audit row the period-end job writes). Choosing the current plan again clears all three.
ALTER TABLE billing_accounts
  ADD COLUMN scheduled_at timestamptz,
  ADD COLUMN scheduled_by text CHECK (length(scheduled_by) <= 200),
  ADD CONSTRAINT billing_accounts_schedule_check CHECK ((scheduled_plan IS NULL) = (scheduled_at IS NULL));
CREATE INDEX billing_accounts_scheduled_idx ON billing_accounts (scheduled_at) WHERE scheduled_plan IS NOT NULL;

-- Down Migration
DROP INDEX billing_accounts_scheduled_idx;
ALTER TABLE billing_accounts DROP CONSTRAINT billing_accounts_schedule_check, DROP COLUMN scheduled_by, DROP COLUMN scheduled_at;
