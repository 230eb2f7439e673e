// Response schemas of /v1/plans.

import { Type, type Static } from 'typebox';
import type { Plan } from './plan.js';

const Limit = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'null: unlimited' });

export const PlanView = Type.Object({
  key: Type.String(),
  name: Type.String(),
  monthlyPriceCents: Type.Union([Type.Integer(), Type.Null()], { description: 'null: custom price' }),
  limits: Type.Record(Type.String(), Limit, { description: 'Per metric; null means unlimited' }),
  apiRateLimitPerMinute: Type.Union([Type.Integer(), Type.Null()], { description: 'null: unlimited' }),
  features: Type.Array(Type.String(), { description: 'Boolean flags this plan turns on' }),
});

export function planView(plan: Plan, features: string[]): Static<typeof PlanView> {
  return {
    key: plan.key,
    name: plan.name,
    monthlyPriceCents: plan.monthlyPriceCents,
    limits: { ...plan.limits },
    apiRateLimitPerMinute: plan.apiRateLimitPerMinute,
    features,
  };
}
