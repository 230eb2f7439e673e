// The official Stripe SDK, pointed where the config says: api.stripe.com, or (tests) a local
// stand-in at STRIPE_API_BASE_URL. Network retries are the SDK's own, with the idempotency keys
// our calls set, so a retried request never does its work twice.

import Stripe from 'stripe';
import type { StripeConfig } from '../../config.js';

const REQUEST_TIMEOUT_MS = 10_000;

export function createStripeClient(config: StripeConfig): Stripe {
  const base = config.apiBaseUrl;
  return new Stripe(config.secretKey, {
    maxNetworkRetries: 2,
    timeout: REQUEST_TIMEOUT_MS,
    telemetry: false,
    ...(base
      ? {
          host: base.hostname,
          port: base.port || (base.protocol === 'https:' ? 443 : 80),
          protocol: base.protocol === 'https:' ? ('https' as const) : ('http' as const),
        }
      : {}),
  });
}
