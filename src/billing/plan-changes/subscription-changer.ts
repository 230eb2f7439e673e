// The seam between a plan change and the billing provider: the change is decided and written
// here, and the provider is told in the same unit of work, before commit, so a provider that
// refuses rolls the change back. `now`: the tenant is on the plan from this moment (the
// provider prorates as it does); `period-end`: the plan takes over when the current period ends
// (asking for the current plan again with `period-end` cancels a scheduled change).

export type PlanChangeEffective = 'now' | 'period-end';

export type SubscriptionChanger = (tenantId: string, planKey: string, effective: PlanChangeEffective) => Promise<void>;

/**
 * The local provider's: there is no subscription outside Tenantry to tell. The invoice the
 * period-end job issues bills the plan the tenant is on then (billing.md).
 */
export const localSubscriptionChanger: SubscriptionChanger = async () => {};
