// Request and response shapes of /v1/webhooks, in TypeBox: they validate requests and document
// the API. No response shape has a field for a stored secret: only the answers that create or
// rotate one carry it, once, as `secret`.

import { Type } from 'typebox';
import { Text, Timestamp, Uuid } from '../http/common-schemas.js';
import { FixedOrderPageQuery, PageOf } from '../http/page.schemas.js';
import { EVENT_TYPE_PATTERN } from './tenant-event.js';

const EndpointUrl = Text({ minLength: 1, maxLength: 2048, description: 'https:// address the events are POSTed to; must resolve to public addresses' });
const Description = Text({ maxLength: 500 });
const EventTypeName = Type.String({ pattern: EVENT_TYPE_PATTERN, maxLength: 100, description: 'e.g. usage.warning' });
const EventTypes = Type.Union([Type.Array(EventTypeName, { minItems: 1, maxItems: 50, uniqueItems: true }), Type.Null()], {
  description: 'The event types sent to this endpoint; null: all',
});

export const CreateEndpointBody = Type.Object(
  { url: EndpointUrl, description: Type.Optional(Description), eventTypes: Type.Optional(EventTypes) },
  { additionalProperties: false },
);

export const UpdateEndpointBody = Type.Object(
  { url: Type.Optional(EndpointUrl), description: Type.Optional(Description), eventTypes: Type.Optional(EventTypes), enabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);

export const EndpointView = Type.Object({
  id: Uuid,
  url: Type.String(),
  description: Type.String(),
  eventTypes: Type.Union([Type.Array(Type.String()), Type.Null()]),
  enabled: Type.Boolean(),
  /** While a rotated-out secret still signs beside the new one. */
  previousSecretExpiresAt: Type.Union([Timestamp, Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const ListEndpointsQuery = Type.Object(FixedOrderPageQuery, { additionalProperties: false });

export const EndpointList = PageOf(EndpointView);

export const EndpointWithSecret = Type.Object({
  endpoint: EndpointView,
  secret: Type.String({ description: 'whsec_… signing secret (Standard Webhooks). Shown this once; store it now.' }),
});

export const EndpointDeleted = Type.Object({ id: Uuid, deleted: Type.Literal(true) });

export const TestEventBody = Type.Object(
  { endpointId: Type.Optional(Uuid) },
  { additionalProperties: false },
);

export const Published = Type.Object({
  eventId: Uuid,
  deliveryIds: Type.Array(Uuid),
});

const DeliveryStatus = Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]);

export const ListDeliveriesQuery = Type.Object(
  { ...FixedOrderPageQuery, endpointId: Type.Optional(Uuid), status: Type.Optional(DeliveryStatus) },
  { additionalProperties: false },
);

export const DeliveryView = Type.Object({
  id: Uuid,
  eventId: Uuid,
  eventType: Type.String(),
  endpointId: Uuid,
  status: DeliveryStatus,
  attempts: Type.Integer(),
  nextAttemptAt: Type.Union([Timestamp, Type.Null()]),
  lastStatusCode: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  replayOf: Type.Union([Uuid, Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const DeliveryList = PageOf(DeliveryView);

export const AttemptView = Type.Object({
  attempt: Type.Integer(),
  outcome: Type.Union([Type.Literal('succeeded'), Type.Literal('failed')]),
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  durationMs: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
  responseBody: Type.Union([Type.String(), Type.Null(), ], { description: 'The first 2 KiB of the answer' }),
  at: Timestamp,
});

export const DeliveryDetail = Type.Object({ delivery: DeliveryView, attempts: Type.Array(AttemptView) });

export const Replayed = Type.Object({ delivery: DeliveryView });
