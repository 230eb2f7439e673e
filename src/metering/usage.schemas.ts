// Request and response schemas of /v1/usage.

import { Type } from 'typebox';
import { Text, Timestamp } from '../http/common-schemas.js';
import { StoredJsonObject } from '../http/stored-json.js';

export const MAX_EVENTS_PER_BATCH = 1000;

export const UsageEventBody = Type.Object(
  {
    metric: Text({ minLength: 1, maxLength: 63 }),
    quantity: Type.Optional(
      Type.Number({
        minimum: 0,
        description: 'Required for sum and max metrics. count and unique_count metrics count events: 1 or absent, anything else is refused with 400',
      }),
    ),
    idempotency_key: Text({ minLength: 1, maxLength: 200, description: 'Unique per tenant: a repeated key is a duplicate' }),
    occurred_at: Type.Optional(Timestamp),
    properties: Type.Optional(StoredJsonObject()),
  },
  { additionalProperties: false },
);

export const IngestBody = Type.Object(
  { events: Type.Array(UsageEventBody, { minItems: 1, maxItems: MAX_EVENTS_PER_BATCH }) },
  { additionalProperties: false },
);

export const IngestResponse = Type.Object({
  accepted: Type.Integer({ description: 'Events stored by this request' }),
  duplicates: Type.Array(Type.String(), { description: 'Idempotency keys already stored (or repeated in the batch): ignored' }),
  rejected: Type.Array(
    Type.Object({
      index: Type.Integer(),
      idempotency_key: Type.String(),
      reason: Type.Union([
        Type.Literal('unknown-metric'),
        Type.Literal('invalid-quantity'),
        Type.Literal('invalid-occurred-at'),
        Type.Literal('too-far-in-future'),
        Type.Literal('too-old'),
        Type.Literal('missing-unique-property'),
      ]),
    }),
  ),
});

export const UsageQuery = Type.Object(
  {
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    granularity: Type.Optional(Type.Union([Type.Literal('hour'), Type.Literal('day')])),
  },
  { additionalProperties: false },
);

export const UsageReportView = Type.Object({
  from: Timestamp,
  to: Timestamp,
  granularity: Type.Union([Type.Literal('hour'), Type.Literal('day')]),
  metrics: Type.Array(
    Type.Object({
      metric: Type.String(),
      unit: Type.String(),
      aggregation: Type.String(),
      total: Type.Number(),
      limit: Type.Union([Type.Number(), Type.Null()]),
      percentUsed: Type.Union([Type.Number(), Type.Null()]),
      series: Type.Array(Type.Object({ start: Timestamp, value: Type.Number() })),
    }),
  ),
});
