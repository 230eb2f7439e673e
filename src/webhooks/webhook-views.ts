// Rows to API answers. Endpoint rows as read never hold a secret (endpoint-repository.ts
// selects none), so no view can leak one.

import type { Static } from 'typebox';
import type { AttemptRow, DeliveryRow } from './delivery-repository.js';
import type { EndpointRow } from './endpoint-repository.js';
import type { AttemptView, DeliveryView, EndpointView } from './webhooks.schemas.js';

export function endpointView(row: EndpointRow): Static<typeof EndpointView> {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: row.event_types,
    enabled: row.enabled,
    previousSecretExpiresAt: row.overlap_ends_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function deliveryView(row: DeliveryRow): Static<typeof DeliveryView> {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    endpointId: row.endpoint_id,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'pending' ? (row.next_attempt_at?.toISOString() ?? null) : null,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    replayOf: row.replay_of,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function attemptView(row: AttemptRow): Static<typeof AttemptView> {
  return {
    attempt: row.attempt,
    outcome: row.outcome,
    statusCode: row.status_code,
    durationMs: row.duration_ms,
    error: row.error,
    responseBody: row.response_body,
    at: row.created_at.toISOString(),
  };
}
