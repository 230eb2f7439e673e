// The plan gate behind `config: { feature: 'x' }`: the tenant must have the boolean flag on
// (plan default or override); otherwise 403 naming the feature and the cheapest plan with it.

import { AppError } from '../http/problems.js';
import type { Actor } from '../tenancy/actor.js';
import type { Flags } from './flags.js';

export function featureGate(flags: Flags): (feature: string, actor: Actor) => Promise<void> {
  return async (feature, actor) => {
    const evaluation = await flags.evaluate(feature, actor);
    if (evaluation.value === true) return;
    const requiredPlan = await flags.cheapestPlanWith(feature);
    throw new AppError('feature-not-in-plan', `the ${actor.plan} plan does not include "${feature}"`, {
      feature,
      required_plan: requiredPlan,
    });
  };
}
