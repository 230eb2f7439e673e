// Request and response schemas of /v1/plans and /v1/tenant/plan.

import { Type, type Static } from 'typebox';
import { Text } from '../http/common-schemas.js';
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

export const ChangePlanBody = Type.Object(
  { plan: Text({ minLength: 1, maxLength: 40, description: 'Key of a plan from GET /v1/plans' }) },
  { additionalProperties: false },
);

export const TenantPlanView = Type.Object({ plan: Type.String(), previousPlan: Type.String() });

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
