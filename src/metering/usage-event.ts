// One usage event as a client or Tenantry itself reports it, and the reasons an event
// can be refused. Checked one by one, so a bad event never sinks the rest of its batch.

import type { Metric } from './metric-catalog.js';

export interface UsageEventInput {
  readonly metric: string;
  /** Required for sum and max metrics; count and unique_count metrics count events, so 1 or absent. */
  readonly quantity?: number | undefined;
  readonly idempotency_key: string;
  /** ISO 8601; defaults to the time of ingestion. */
  readonly occurred_at?: string | Date | undefined;
  readonly properties?: Record<string, unknown> | undefined;
}

export type RejectionReason =
  | 'unknown-metric'
  | 'invalid-quantity'
  | 'invalid-occurred-at'
  | 'too-far-in-future'
  | 'too-old'
  | 'missing-unique-property';

/** Events may be stamped at most this far ahead of the server's clock. */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;

/** Largest quantity accepted: well inside numeric, and exact as a double. */
const MAX_QUANTITY = 2 ** 53 - 1;

export interface AcceptedEvent {
  readonly key: string;
  readonly metric: string;
  readonly quantity: number;
  readonly occurredAt: Date;
  readonly uniqueValue: string | null;
  readonly properties: string | null;
}

/**
 * Why an event's quantity cannot mean anything for its metric, or undefined. Unlike the
 * rejection reasons, this is a mistake in the client's code, not in its data: the whole
 * batch is refused with a 400 (usage-recorder.ts), so it is fixed rather than lost quietly.
 */
export function quantityMistake(event: UsageEventInput, metric: Metric | undefined): string | undefined {
  if (!metric) return undefined;
  const counted = metric.aggregation === 'count' || metric.aggregation === 'unique_count';
  if (counted && event.quantity !== undefined && event.quantity !== 1) {
    return `must be 1 or absent: ${metric.key} is a ${metric.aggregation} metric, which counts events, so each event counts once whatever its quantity`;
  }
  if (!counted && event.quantity === undefined) return `is required: ${metric.key} is a ${metric.aggregation} metric of the quantities sent`;
  return undefined;
}

export interface EventWindow {
  /** The earliest occurred_at accepted: the open period's start minus the grace window. */
  readonly earliest: Date;
  readonly now: Date;
}

export function checkEvent(
  event: UsageEventInput,
  metric: Metric | undefined,
  window: EventWindow,
): AcceptedEvent | RejectionReason {
  if (!metric) return 'unknown-metric';
  const quantity = event.quantity ?? 1;
  if (!Number.isFinite(quantity) || quantity < 0 || quantity > MAX_QUANTITY) return 'invalid-quantity';
  const occurredAt = event.occurred_at === undefined ? window.now : new Date(event.occurred_at);
  const time = occurredAt.getTime();
  if (Number.isNaN(time)) return 'invalid-occurred-at';
  if (time > window.now.getTime() + FUTURE_TOLERANCE_MS) return 'too-far-in-future';
  if (time < window.earliest.getTime()) return 'too-old';
  let uniqueValue: string | null = null;
  if (metric.uniqueBy) {
    const value = event.properties?.[metric.uniqueBy];
    if (value === undefined || value === null || value === '') return 'missing-unique-property';
    uniqueValue = typeof value === 'string' ? value : JSON.stringify(value);
  }
  const hasProperties = event.properties !== undefined && Object.keys(event.properties).length > 0;
  return {
    key: event.idempotency_key,
    metric: metric.key,
    quantity,
    occurredAt,
    uniqueValue,
    properties: hasProperties ? JSON.stringify(event.properties) : null,
  };
}
