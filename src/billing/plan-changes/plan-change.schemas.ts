// Request and response schemas of PATCH /v1/tenant/plan and the operator's
// POST /v1/admin/tenants/:id/plan.

import { Type } from 'typebox';
import { Text, Timestamp } from '../../http/common-schemas.js';
import type { PlanChangeOutcome } from './plan-changes.js';

const PlanKey = Text({ minLength: 1, maxLength: 40, description: 'Key of a plan from GET /v1/plans' });

export const ChangePlanBody = Type.Object({ plan: PlanKey }, { additionalProperties: false });

export const OperatorChangePlanBody = Type.Object(
  { plan: PlanKey, reason: Text({ minLength: 1, maxLength: 500, nonBlank: true, description: "Why: kept in the tenant's audit log" }) },
  { additionalProperties: false },
);

export const PendingPlanChangeView = Type.Object({ plan: Type.String(), at: Timestamp }, { description: 'A downgrade waiting for the end of the billing period' });

export const PlanChangeView = Type.Object({
  plan: Type.String({ description: "The tenant's plan now" }),
  previousPlan: Type.String(),
  effective: Type.Union([Type.Literal('now'), Type.Literal('period-end'), Type.Literal('unchanged')], {
    description: 'now: applied; period-end: a downgrade waiting for the period to end (see pending); unchanged: already on it (a waiting downgrade is cancelled)',
  }),
  pending: Type.Union([PendingPlanChangeView, Type.Null()]),
});

export function planChangeView(outcome: PlanChangeOutcome) {
  return {
    plan: outcome.plan,
    previousPlan: outcome.previousPlan,
    effective: outcome.effective,
    pending: outcome.pending ? { plan: outcome.pending.plan, at: outcome.pending.at.toISOString() } : null,
  };
}
