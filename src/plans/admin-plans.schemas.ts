// Request and response schemas of the operator's plan catalog routes (/v1/admin/plans).
// The schemas bound every number the database stores; plan-administration.ts checks what a
// schema cannot (metrics and flags that exist, flag values of the right kind).

import { Type, type Static } from 'typebox';
import { Text, Timestamp } from '../http/common-schemas.js';
import { StoredJson } from '../http/stored-json.js';
import type { Plan } from './plan.js';

const MAX_INT4 = 2_147_483_647;
const METRIC_KEY = '^[a-z][a-z0-9_]{0,63}$';
const FLAG_KEY = '^[a-z][a-z0-9_]{1,63}$';

export const PlanKey = Type.String({ pattern: '^[a-z][a-z0-9_]{1,39}$', description: 'Plan key: lowercase letters, digits, _' });
export const PlanKeyParams = Type.Object({ key: PlanKey }, { additionalProperties: false });

const Limits = Type.Record(Type.String({ pattern: METRIC_KEY }), Type.Union([Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }), Type.Null()]), {
  maxProperties: 50,
  description: 'Per metric: the most allowed, null for unlimited. A metric left out is not included (limit 0).',
});
const MeteredPrices = Type.Record(
  Type.String({ pattern: METRIC_KEY }),
  Type.Object(
    {
      included: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Units a billing period includes' }),
      unitPriceMillicents: Type.Integer({ minimum: 0, maximum: MAX_INT4, description: 'Price of each further unit, in thousandths of a cent' }),
    },
    { additionalProperties: false },
  ),
  { maxProperties: 50, description: 'Per metric: metered billing past what the period includes' },
);
const Flags = Type.Record(Type.String({ pattern: FLAG_KEY }), StoredJson({ description: "The flag's value on this plan" }), {
  maxProperties: 100,
  description: 'Flag values this plan sets (plan defaults); a flag left out falls back to its own default',
});

const planFields = {
  name: Text({ minLength: 1, maxLength: 100, nonBlank: true }),
  monthlyPriceCents: Type.Union([Type.Integer({ minimum: 0, maximum: MAX_INT4 }), Type.Null()], { description: 'null: priced by contract' }),
  limits: Limits,
  apiRateLimitPerMinute: Type.Union([Type.Integer({ minimum: 1, maximum: MAX_INT4 }), Type.Null()], { description: 'null: unlimited' }),
  sortOrder: Type.Integer({ minimum: -MAX_INT4, maximum: MAX_INT4, description: 'Catalog order, cheapest first; also what tells an upgrade from a downgrade' }),
  meteredPrices: MeteredPrices,
  flags: Flags,
};

export const CreatePlanBody = Type.Object(
  {
    key: PlanKey,
    ...planFields,
    meteredPrices: Type.Optional(MeteredPrices),
    flags: Type.Optional(Flags),
  },
  { additionalProperties: false },
);
export type CreatePlanBody = Static<typeof CreatePlanBody>;

export const UpdatePlanBody = Type.Object(
  {
    name: Type.Optional(planFields.name),
    monthlyPriceCents: Type.Optional(planFields.monthlyPriceCents),
    limits: Type.Optional(Limits),
    apiRateLimitPerMinute: Type.Optional(planFields.apiRateLimitPerMinute),
    sortOrder: Type.Optional(planFields.sortOrder),
    meteredPrices: Type.Optional(MeteredPrices),
    flags: Type.Optional(Flags),
  },
  { additionalProperties: false, minProperties: 1, description: 'Any subset; limits, meteredPrices and flags replace the whole map' },
);
export type UpdatePlanBody = Static<typeof UpdatePlanBody>;

export const RetirePlanBody = Type.Object(
  { reason: Text({ minLength: 1, maxLength: 500, nonBlank: true, description: 'Why: kept in the platform audit log' }) },
  { additionalProperties: false },
);

export const AdminPlanView = Type.Object({
  key: Type.String(),
  name: Type.String(),
  monthlyPriceCents: Type.Union([Type.Integer(), Type.Null()]),
  limits: Type.Record(Type.String(), Type.Union([Type.Integer(), Type.Null()])),
  apiRateLimitPerMinute: Type.Union([Type.Integer(), Type.Null()]),
  sortOrder: Type.Integer(),
  meteredPrices: Type.Record(Type.String(), Type.Object({ included: Type.Integer(), unitPriceMillicents: Type.Integer() })),
  flags: Type.Record(Type.String(), Type.Unknown()),
  retiredAt: Type.Union([Timestamp, Type.Null()]),
});

export function adminPlanView(plan: Plan, flags: ReadonlyMap<string, unknown> | undefined): Static<typeof AdminPlanView> {
  return {
    key: plan.key,
    name: plan.name,
    monthlyPriceCents: plan.monthlyPriceCents,
    limits: { ...plan.limits },
    apiRateLimitPerMinute: plan.apiRateLimitPerMinute,
    sortOrder: plan.sortOrder,
    meteredPrices: { ...plan.meteredPrices },
    flags: Object.fromEntries(flags ?? []),
    retiredAt: plan.retiredAt?.toISOString() ?? null,
  };
}
