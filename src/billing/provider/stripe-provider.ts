// Billing through Stripe: a customer and a subscription per tenant, plan changes on the
// subscription, Checkout for a payment method, usage as meter events. Every call that creates
// something carries an idempotency key derived from the tenant (and what it creates), so a
// retried provisioning or a re-run job finds what the first attempt made instead of making it
// again. What the tenant's plan costs is a Price configured per plan (STRIPE_PRICES); a plan
// without one (free) has no subscription.

import type Stripe from 'stripe';
import type { StripeConfig } from '../../config.js';
import { AppError } from '../../http/problems.js';
import {
  UnusableSetup,
  type BillingProvider,
  type CheckoutReturnUrls,
  type MeterEvent,
  type PlanChangeEffective,
  type ProviderAccount,
  type ProviderRefs,
  type ProvisionTarget,
} from './billing-provider.js';

/** Stripe keeps an idempotency key's answer 24 hours; the account row keeps the refs for good. */
export const provisionKeys = (tenantId: string) => ({
  customer: `tenantry:customer:${tenantId}`,
  subscription: `tenantry:subscription:${tenantId}`,
});

const CHECKOUT_KEY_WINDOW_MS = 60_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class StripeBillingProvider implements BillingProvider {
  readonly name = 'stripe' as const;

  constructor(
    private readonly stripe: Stripe,
    private readonly config: Pick<StripeConfig, 'prices'>,
  ) {}

  async provision({ tenantId, plan }: ProvisionTarget): Promise<ProviderRefs> {
    const keys = provisionKeys(tenantId);
    // A run whose answer was lost may be retried after Stripe forgot its idempotency key (24 h):
    // the customer it made is found by the tenant id in its metadata and adopted. Within the
    // 24 h the key answers, which also covers search's own lag (Stripe indexes within a minute).
    const adopted = await this.#customerOf(tenantId);
    // Only values that never change for the tenant: a key sent again with other
    // parameters is an error at Stripe, not a second customer.
    const customer = adopted ?? (await this.stripe.customers.create({ metadata: { tenant_id: tenantId } }, { idempotencyKey: keys.customer }));
    const price = this.config.prices[plan];
    if (!price) return { customerRef: customer.id, subscriptionRef: null };
    const existing = adopted ? await this.#subscriptionOf(customer.id, tenantId) : undefined;
    if (existing) return { customerRef: customer.id, subscriptionRef: existing };
    const subscription = await this.stripe.subscriptions.create(
      {
        customer: customer.id,
        items: [{ price }],
        // No card yet: the subscription waits for one (Checkout) instead of failing.
        payment_behavior: 'default_incomplete',
        metadata: { tenant_id: tenantId },
      },
      { idempotencyKey: `${keys.subscription}:${price}` },
    );
    return { customerRef: customer.id, subscriptionRef: subscription.id };
  }

  /** The tenant's customer at Stripe, if one was made already: the oldest carrying its id in metadata. */
  async #customerOf(tenantId: string): Promise<{ id: string } | undefined> {
    // The id is interpolated into Stripe's search language: only a UUID may be.
    if (!UUID.test(tenantId)) throw new Error(`not a tenant id: ${tenantId}`);
    const found = await this.stripe.customers.search({ query: `metadata['tenant_id']:'${tenantId}'`, limit: 10 });
    return found.data
      .filter((customer) => customer.metadata?.tenant_id === tenantId)
      .sort((a, b) => a.created - b.created || a.id.localeCompare(b.id))[0];
  }

  /** A live subscription of the adopted customer that was made for the tenant. */
  async #subscriptionOf(customerRef: string, tenantId: string): Promise<string | undefined> {
    // The default list leaves out canceled subscriptions.
    const list = await this.stripe.subscriptions.list({ customer: customerRef, limit: 10 });
    return list.data.find((subscription) => subscription.metadata?.tenant_id === tenantId && subscription.status !== 'incomplete_expired')?.id;
  }

  async changeSubscription(account: ProviderAccount, plan: string, effective: PlanChangeEffective): Promise<ProviderRefs> {
    const customerRef = requireCustomer(account);
    const price = this.config.prices[plan];
    if (!account.subscriptionRef) {
      if (!price) return { customerRef, subscriptionRef: null };
      const created = await this.stripe.subscriptions.create(
        { customer: customerRef, items: [{ price }], payment_behavior: 'default_incomplete', metadata: { tenant_id: account.tenantId } },
        { idempotencyKey: `${provisionKeys(account.tenantId).subscription}:${price}` },
      );
      return { customerRef, subscriptionRef: created.id };
    }
    if (!price) {
      // Down to a plan without a price: the subscription ends, now or when the paid period does.
      if (effective === 'now') await this.stripe.subscriptions.cancel(account.subscriptionRef);
      else await this.stripe.subscriptions.update(account.subscriptionRef, { cancel_at_period_end: true });
      return { customerRef, subscriptionRef: effective === 'now' ? null : account.subscriptionRef };
    }
    const subscription = await this.stripe.subscriptions.retrieve(account.subscriptionRef);
    const item = subscription.items.data[0];
    if (!item) throw new Error(`Stripe subscription ${account.subscriptionRef} has no item to change`);
    await this.stripe.subscriptions.update(account.subscriptionRef, {
      items: [{ id: item.id, price }],
      // An upgrade is charged for the rest of the period at once; a downgrade prorates nothing,
      // so the new price starts with the next period.
      proration_behavior: effective === 'now' ? 'always_invoice' : 'none',
      cancel_at_period_end: false,
      metadata: { tenant_id: account.tenantId, plan },
    });
    return { customerRef, subscriptionRef: account.subscriptionRef };
  }

  async checkoutUrl(account: ProviderAccount, plan: string, returnUrls: CheckoutReturnUrls): Promise<string> {
    const session = await this.stripe.checkout.sessions.create({
      mode: 'setup',
      currency: 'usd',
      customer: requireCustomer(account),
      client_reference_id: account.tenantId,
      success_url: returnUrls.successUrl,
      cancel_url: returnUrls.cancelUrl,
      metadata: { tenant_id: account.tenantId, plan },
    }, {
      // A double click (or the SDK's retry) within the minute gets the same session, not two.
      idempotencyKey: `tenantry:checkout:${account.tenantId}:${plan}:${Math.floor(Date.now() / CHECKOUT_KEY_WINDOW_MS)}`,
    });
    if (!session.url) throw new Error('Stripe answered a Checkout session without a URL');
    return session.url;
  }

  async useSetupPaymentMethod(account: ProviderAccount, setupRef: string): Promise<void> {
    const customer = requireCustomer(account);
    const intent = await this.stripe.setupIntents.retrieve(setupRef);
    const paymentMethod = typeof intent.payment_method === 'string' ? intent.payment_method : intent.payment_method?.id;
    // A SetupIntent of another customer (a forged or mixed-up reference) must not touch this one.
    const intentCustomer = typeof intent.customer === 'string' ? intent.customer : intent.customer?.id;
    if (intentCustomer !== customer) throw new UnusableSetup(`SetupIntent ${setupRef} belongs to another customer than ${customer}`);
    if (intent.status !== 'succeeded' || !paymentMethod) {
      throw new UnusableSetup(`SetupIntent ${setupRef} has no confirmed payment method (status ${intent.status})`);
    }
    // Updates, not creates: sending them again sets the same values.
    await this.stripe.customers.update(customer, { invoice_settings: { default_payment_method: paymentMethod } });
    if (account.subscriptionRef) await this.stripe.subscriptions.update(account.subscriptionRef, { default_payment_method: paymentMethod });
  }

  async reportUsage(event: MeterEvent): Promise<void> {
    await this.stripe.billing.meterEvents.create(
      {
        event_name: event.metric,
        identifier: event.identifier,
        timestamp: Math.floor(event.timestamp.getTime() / 1000),
        payload: { stripe_customer_id: event.customerRef, value: String(event.quantity) },
      },
      { idempotencyKey: event.identifier },
    );
  }
}

function requireCustomer(account: ProviderAccount): string {
  if (!account.customerRef) {
    throw new AppError('conflict', 'the tenant has no Stripe customer yet (provisioning runs in the background; try again in a minute)', { billing_provider: 'stripe' });
  }
  return account.customerRef;
}
