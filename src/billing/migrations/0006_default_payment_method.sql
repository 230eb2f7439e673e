-- Up Migration
-- Checkout runs in setup mode: it saves a card on the Stripe customer but does not make it the
-- card Stripe charges, so a subscription would keep failing with a card on file. A completed
-- Checkout records its SetupIntent here, in the webhook's transaction; the every-minute
-- provisioning job then makes that SetupIntent's payment method the default of the customer and
-- of its subscription (outside any transaction, retried until Stripe answers) and clears it.
ALTER TABLE billing_accounts
  ADD COLUMN payment_method_setup_ref text CHECK (length(payment_method_setup_ref) <= 255);
CREATE INDEX billing_accounts_payment_method_setup_idx ON billing_accounts (tenant_id) WHERE payment_method_setup_ref IS NOT NULL;

-- Down Migration
DROP INDEX billing_accounts_payment_method_setup_idx;
ALTER TABLE billing_accounts DROP COLUMN payment_method_setup_ref;
