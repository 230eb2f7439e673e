// The embedded default: nothing outside Tenantry. Invoices are computed from rollups and the
// operator records payments (docs/billing.md), so there is no customer, no subscription to move,
// no hosted checkout and nowhere to report usage.

import { AppError } from '../../http/problems.js';
import type { BillingProvider, ProviderRefs } from './billing-provider.js';

const NONE: ProviderRefs = Object.freeze({ customerRef: null, subscriptionRef: null });

export const localBillingProvider: BillingProvider = Object.freeze({
  name: 'local' as const,
  provision: async () => NONE,
  changeSubscription: async () => NONE,
  checkoutUrl: async () => {
    throw new AppError('conflict', 'checkout is not available: billing runs on the local provider, where the platform operator records payments', {
      billing_provider: 'local',
    });
  },
  // No Checkout here, so no saved payment method to promote.
  useSetupPaymentMethod: async () => {},
  reportUsage: async () => {},
});
