// The one call plan changes make to the provider: move the tenant's subscription, then keep the
// references the provider answers. PATCH /v1/tenant/plan and the operator's plan change call it
// (with 'now' for an upgrade, 'period-end' for a downgrade) before they change tenants.plan;
// with the local provider it does nothing. The provider is called outside any transaction.

import type { BillingDatabase } from '../billing-tables.js';
import type { BillingProvider, PlanChangeEffective, ProviderRefs } from './billing-provider.js';

/** Moves `tenantId`'s provider subscription to `plan`; answers its references afterwards. */
export async function changeSubscription(
  db: BillingDatabase,
  provider: BillingProvider,
  tenantId: string,
  plan: string,
  effective: PlanChangeEffective,
): Promise<ProviderRefs> {
  if (provider.name === 'local') return provider.changeSubscription({ tenantId, customerRef: null, subscriptionRef: null }, plan, effective);
  const account = await db.service('billing: read a tenant\'s provider account', (tx) =>
    tx.selectFrom('billing_accounts').select(['customer_ref', 'subscription_ref']).where('tenant_id', '=', tenantId).executeTakeFirst(),
  );
  const refs = await provider.changeSubscription(
    { tenantId, customerRef: account?.customer_ref ?? null, subscriptionRef: account?.subscription_ref ?? null },
    plan,
    effective,
  );
  if (refs.subscriptionRef !== (account?.subscription_ref ?? null)) {
    await db.service('billing: store a tenant\'s subscription', (tx) =>
      tx.updateTable('billing_accounts').set({ subscription_ref: refs.subscriptionRef }).where('tenant_id', '=', tenantId).execute(),
    );
  }
  return refs;
}
