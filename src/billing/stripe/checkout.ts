// A tenant without a payment method gets a hosted Checkout page to add one (and confirm the plan
// it is buying). The local provider has none to offer (409); a tenant that already has a payment
// method changes plan directly (409); the return addresses are the server's own, never the
// request's, so a checkout cannot be turned into a redirect to somewhere else.

import type { StripeConfig } from '../../config.js';
import { AppError } from '../../http/problems.js';
import type { Plans } from '../../plans/plans.js';
import type { Actor } from '../../tenancy/actor.js';
import type { BillingDatabase } from '../billing-tables.js';
import type { BillingProvider } from '../provider/billing-provider.js';

export class BillingCheckout {
  constructor(
    private readonly db: BillingDatabase,
    private readonly provider: BillingProvider,
    private readonly plans: Plans,
    private readonly stripe: Pick<StripeConfig, 'prices' | 'successUrl' | 'cancelUrl'> | undefined,
  ) {}

  async start(actor: Actor, requestedPlan: string | undefined): Promise<{ url: string; plan: string }> {
    const plan = requestedPlan ?? actor.plan;
    if (!this.stripe) return { url: await this.provider.checkoutUrl({ tenantId: actor.tenantId, customerRef: null, subscriptionRef: null }, plan, { successUrl: '', cancelUrl: '' }), plan };
    if (!(await this.plans.find(plan))) throw new AppError('validation-failed', `plan "${plan}" is not in the catalog`, { field: 'plan' });
    if (!this.stripe.prices[plan]) throw new AppError('conflict', `plan "${plan}" is not sold through Stripe (it has no price)`, { plan });
    const account = await this.db.tenant((tx) => tx.selectFrom('billing_accounts').select(['customer_ref', 'subscription_ref', 'has_payment_method']).executeTakeFirst());
    if (account?.has_payment_method) {
      throw new AppError('conflict', 'the tenant already has a payment method; change the plan with PATCH /v1/tenant/plan', { has_payment_method: true });
    }
    const url = await this.provider.checkoutUrl(
      { tenantId: actor.tenantId, customerRef: account?.customer_ref ?? null, subscriptionRef: account?.subscription_ref ?? null },
      plan,
      { successUrl: this.stripe.successUrl, cancelUrl: this.stripe.cancelUrl },
    );
    return { url, plan };
  }
}
