// The plan gate behind `config: { feature: 'x' }`: the tenant must have the boolean flag on
// (plan default or override); otherwise 403 naming the feature and the cheapest plan with it.

import { AppError } from '../http/problems.js';
import type { RequestContext } from '../tenancy/context.js';
import type { Flags } from './flags.js';

export function featureGate(flags: Flags): (feature: string, context: RequestContext) => Promise<void> {
  return async (feature, context) => {
    if (!context.tenantId || !context.plan) throw new AppError('forbidden', `"${feature}" is a tenant feature`);
    const evaluation = await flags.evaluate(feature, {
      tenantId: context.tenantId,
      plan: context.plan,
      userId: context.userId,
      role: context.role,
    });
    if (evaluation.value === true) return;
    const requiredPlan = await flags.cheapestPlanWith(feature);
    throw new AppError('feature-not-in-plan', `the ${context.plan} plan does not include "${feature}"`, {
      feature,
      required_plan: requiredPlan,
    });
  };
}
