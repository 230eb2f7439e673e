// Which provider runs: Stripe when STRIPE_SECRET_KEY is set, the local one otherwise. One per
// config, so the app and its jobs share one SDK client (and its connection pool).

import type { Config } from '../../config.js';
import type { BillingProvider } from './billing-provider.js';
import { localBillingProvider } from './local-provider.js';
import { createStripeClient } from './stripe-client.js';
import { StripeBillingProvider } from './stripe-provider.js';

const providers = new WeakMap<Config['billing'], BillingProvider>();

export function billingProviderFor(config: Config): BillingProvider {
  const stripe = config.billing.stripe;
  if (!stripe) return localBillingProvider;
  let provider = providers.get(config.billing);
  if (!provider) {
    provider = new StripeBillingProvider(createStripeClient(stripe), stripe);
    providers.set(config.billing, provider);
  }
  return provider;
}
