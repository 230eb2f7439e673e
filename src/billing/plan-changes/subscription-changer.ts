// The seam between a plan change and the billing provider: the change is decided and written
// here, and the provider is told in the same unit of work, before commit, so a provider that
// refuses rolls the change back. `now`: the tenant is on the plan from this moment (the
// provider prorates as it does); `period-end`: the plan takes over when the current period ends
// (asking for the current plan again with `period-end` cancels a scheduled change).

import type { BillingTx } from '../billing-tables.js';
import type { BillingProvider, PlanChangeEffective } from '../provider/billing-provider.js';

export type { PlanChangeEffective };

/** Called inside the plan change's service-role transaction, with the tenant's row locked. */
export type SubscriptionChanger = (tx: BillingTx, tenantId: string, planKey: string, effective: PlanChangeEffective) => Promise<void>;

/**
 * The local provider's: there is no subscription outside Tenantry to tell. The invoice the
 * period-end job issues bills the plan the tenant is on then (billing.md).
 */
export const localSubscriptionChanger: SubscriptionChanger = async () => {};

/**
 * A provider with subscriptions of its own (Stripe): moves the tenant's subscription and keeps
 * the reference it answers, in the plan change's transaction. The provider is called while the
 * tenant's row is locked, so two changes of one tenant reach it one after the other.
 */
export function subscriptionChangerFor(provider: BillingProvider): SubscriptionChanger {
  if (provider.name === 'local') return localSubscriptionChanger;
  return async (tx, tenantId, planKey, effective) => {
    const account = await tx
      .selectFrom('billing_accounts')
      .select(['customer_ref', 'subscription_ref'])
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    const refs = await provider.changeSubscription(
      { tenantId, customerRef: account?.customer_ref ?? null, subscriptionRef: account?.subscription_ref ?? null },
      planKey,
      effective,
    );
    if (account && refs.subscriptionRef !== account.subscription_ref) {
      await tx.updateTable('billing_accounts').set({ subscription_ref: refs.subscriptionRef }).where('tenant_id', '=', tenantId).execute();
    }
  };
}
