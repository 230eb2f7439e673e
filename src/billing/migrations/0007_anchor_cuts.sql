-- Up Migration
-- With Stripe, the subscription's billing cycle anchor is Stripe's, not the tenant's creation: a
-- subscription opened at an upgrade, a Checkout or by provisioning starts its own cycle.
-- tenants.billing_anchor follows it (customer.subscription.created / updated), and each move is
-- kept here, on the account, with the instant it cut the local periods at: the periods before
-- cut_at follow from_anchor, the one running at the cut ends there (its usage so far is invoiced
-- on its own), and from cut_at on the periods follow to_anchor. A handful per tenant at most,
-- written under the account's lock by the webhook's unit, read whole by the period-end job:
-- [{ "from_anchor", "to_anchor", "cut_at", "subscription_ref", "event_created_at" }] (ISO
-- instants), oldest cut first.
ALTER TABLE billing_accounts
  ADD COLUMN anchor_cuts jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(anchor_cuts) = 'array');

-- Down Migration
ALTER TABLE billing_accounts DROP COLUMN anchor_cuts;
