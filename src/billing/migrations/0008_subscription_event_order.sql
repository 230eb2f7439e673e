-- Up Migration
-- Stripe's events about a subscription and about its invoices are ordered separately: an
-- invoice's payment (dunning) and the subscription's state (its cycle, which the billing anchor
-- follows) are different things, and Stripe sends both at one change in no set order. With one
-- ordering stamp, an invoice.paid created a second after the customer.subscription.updated of the
-- same change, and delivered first, made that update stale and the anchor never moved.
-- provider_event_at stays the order of every other ordered event (the invoices'); this is the
-- `created` of the last customer.subscription.* event applied. Filled from the events recorded.
ALTER TABLE billing_accounts ADD COLUMN subscription_event_at timestamptz;
UPDATE billing_accounts a
   SET subscription_event_at = e.latest
  FROM (SELECT tenant_id, max(event_created_at) AS latest
          FROM billing_provider_events
         WHERE event_type LIKE 'customer.subscription.%' AND applied
         GROUP BY tenant_id) e
 WHERE e.tenant_id = a.tenant_id;

-- Down Migration
ALTER TABLE billing_accounts DROP COLUMN subscription_event_at;
