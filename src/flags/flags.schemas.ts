// Request and response schemas of /v1/flags and /v1/admin/flags.

import { Type } from 'typebox';
import { Text } from '../http/common-schemas.js';
import { StoredJson } from '../http/stored-json.js';

export const FlagKey = Type.String({ pattern: '^[a-z][a-z0-9_]{1,63}$', description: 'Flag key' });
export const FlagKeyParams = Type.Object({ key: FlagKey }, { additionalProperties: false });

const FLAG_VALUE = 'boolean for boolean and rollout flags; any JSON for variants';

/** Any JSON value; its type is checked against the flag's kind by the service. */
export const FlagValue = Type.Unknown({ description: FLAG_VALUE });
/** A flag value a request sets: stored as jsonb, so it must be storable unchanged. */
const FlagValueInput = StoredJson({ description: FLAG_VALUE });

export const FlagEvaluationView = Type.Object({
  key: Type.String(),
  kind: Type.Union([Type.Literal('boolean'), Type.Literal('variant'), Type.Literal('rollout')]),
  value: FlagValue,
  source: Type.Union([Type.Literal('default'), Type.Literal('plan'), Type.Literal('tenant')], {
    description: 'The level the value came from: the flag default, the plan default or the tenant override',
  }),
  tenantEditable: Type.Boolean(),
});

export const SetValueBody = Type.Object({ value: FlagValueInput }, { additionalProperties: false, required: ['value'] });

export const FlagDefinitionBody = Type.Object(
  {
    kind: Type.Union([Type.Literal('boolean'), Type.Literal('variant'), Type.Literal('rollout')]),
    description: Type.Optional(Text({ maxLength: 500 })),
    defaultValue: Type.Optional(FlagValueInput),
    rolloutPercentage: Type.Optional(Type.Number({ minimum: 0, maximum: 100, multipleOf: 0.01, description: 'Rollout flags only, and required for them' })),
    bucketBy: Type.Optional(Type.Union([Type.Literal('tenantId'), Type.Literal('userId')])),
    tenantEditable: Type.Optional(Type.Boolean()),
  },
  {
    additionalProperties: false,
    // What each kind needs, stated in the schema so the document shows it: a rollout flag its
    // percentage (its value is false outside the rollout), the other kinds their default value.
    allOf: [
      {
        if: { properties: { kind: { const: 'rollout' } } },
        then: { required: ['rolloutPercentage'], properties: { defaultValue: { const: false } } },
        else: { required: ['defaultValue'] },
      },
    ],
  },
);

export const FlagDefinitionView = Type.Object({
  key: Type.String(),
  kind: Type.String(),
  description: Type.String(),
  defaultValue: FlagValue,
  rolloutPercentage: Type.Union([Type.Number(), Type.Null()]),
  bucketBy: Type.String(),
  tenantEditable: Type.Boolean(),
  planDefaults: Type.Record(Type.String(), FlagValue, { description: 'plan key -> value' }),
});
