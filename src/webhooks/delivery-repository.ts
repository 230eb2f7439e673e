// SQL of deliveries and their attempts. Every function takes the unit of work; the query layer
// and RLS confine it to the unit's tenant, so none of them names tenant_id.

import { keysetPage, type Page, type PagePosition } from '../db/keyset-page.js';
import { newId } from '../db/ids.js';
import type { AttemptOutcome, DeliveryStatus, WebhookTx } from './webhook-tables.js';

export interface ClaimedDelivery {
  readonly id: string;
  readonly eventId: string;
  readonly endpointId: string;
  readonly attempts: number;
  readonly createdAt: Date;
}

/**
 * Takes the delivery's next attempt for this run: only while it is pending, has finished
 * exactly `attempt` attempts, and no other run holds it (or that run's hold lapsed: it died).
 */
export async function claimAttempt(tx: WebhookTx, deliveryId: string, attempt: number, now: Date, holdUntil: Date): Promise<ClaimedDelivery | undefined> {
  const row = await tx
    .updateTable('webhook_deliveries')
    .set({ claimed_until: holdUntil, updated_at: now })
    .where('id', '=', deliveryId)
    .where('status', '=', 'pending')
    .where('attempts', '=', attempt)
    .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
    .returning(['id', 'event_id', 'endpoint_id', 'attempts', 'created_at'])
    .executeTakeFirst();
  return row && { id: row.id, eventId: row.event_id, endpointId: row.endpoint_id, attempts: row.attempts, createdAt: row.created_at };
}

export interface AttemptRecord {
  readonly deliveryId: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly outcome: AttemptOutcome;
  readonly statusCode: number | undefined;
  readonly durationMs: number;
  readonly error: string | undefined;
  readonly responseBody: string | undefined;
  readonly at: Date;
}

export async function insertAttempt(tx: WebhookTx, record: AttemptRecord): Promise<void> {
  await tx
    .insertInto('webhook_attempts')
    .values({
      id: newId(),
      delivery_id: record.deliveryId,
      attempt: record.attempt,
      outcome: record.outcome,
      status_code: record.statusCode ?? null,
      duration_ms: record.durationMs,
      error: record.error?.slice(0, 1000) ?? null,
      response_body: record.responseBody ?? null,
      created_at: record.at,
    })
    .execute();
}

export interface DeliveryUpdate {
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly nextAttemptAt: Date | null;
  readonly lastStatusCode?: number | null | undefined;
  readonly lastError: string | null;
  readonly now: Date;
}

/** Records where the delivery stands after the run that held attempt `heldAttempt`; false if it no longer held it. */
export async function settleDelivery(tx: WebhookTx, deliveryId: string, heldAttempt: number, update: DeliveryUpdate): Promise<boolean> {
  const result = await tx
    .updateTable('webhook_deliveries')
    .set({
      status: update.status,
      attempts: update.attempts,
      claimed_until: null,
      next_attempt_at: update.nextAttemptAt,
      ...(update.lastStatusCode !== undefined ? { last_status_code: update.lastStatusCode } : {}),
      last_error: update.lastError?.slice(0, 1000) ?? null,
      updated_at: update.now,
    })
    .where('id', '=', deliveryId)
    .where('status', '=', 'pending')
    .where('attempts', '=', heldAttempt)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export interface DeliveryRow {
  id: string;
  event_id: string;
  event_type: string;
  endpoint_id: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  replay_of: string | null;
  created_at: Date;
  updated_at: Date;
}

function deliveries(tx: WebhookTx) {
  return tx
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
    .select([
      'd.id',
      'd.event_id',
      'e.type as event_type',
      'd.endpoint_id',
      'd.status',
      'd.attempts',
      'd.next_attempt_at',
      'd.last_status_code',
      'd.last_error',
      'd.replay_of',
      'd.created_at',
      'd.updated_at',
    ])
    .where('d.deleted_at', 'is', null);
}

export interface DeliveryFilter {
  readonly endpointId?: string | undefined;
  readonly status?: DeliveryStatus | undefined;
}

/** Newest first. */
export async function listDeliveries(tx: WebhookTx, filter: DeliveryFilter, limit: number, after: PagePosition | undefined): Promise<Page<DeliveryRow>> {
  let query = deliveries(tx);
  if (filter.endpointId) query = query.where('d.endpoint_id', '=', filter.endpointId);
  if (filter.status) query = query.where('d.status', '=', filter.status);
  return keysetPage(query, { at: 'd.created_at', id: 'd.id' }, { limit, sort: 'desc', after });
}

export async function findDelivery(tx: WebhookTx, deliveryId: string): Promise<DeliveryRow | undefined> {
  return deliveries(tx).where('d.id', '=', deliveryId).executeTakeFirst();
}

export interface AttemptRow {
  attempt: number;
  outcome: AttemptOutcome;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_body: string | null;
  created_at: Date;
}

export async function attemptsOf(tx: WebhookTx, deliveryId: string): Promise<AttemptRow[]> {
  return tx
    .selectFrom('webhook_attempts')
    .select(['attempt', 'outcome', 'status_code', 'duration_ms', 'error', 'response_body', 'created_at'])
    .where('delivery_id', '=', deliveryId)
    .where('deleted_at', 'is', null)
    .orderBy('attempt')
    .execute();
}

/** A new delivery of the same event to the same endpoint, starting afresh; its id. */
export async function insertReplay(tx: WebhookTx, original: DeliveryRow, now: Date): Promise<string> {
  const id = newId();
  await tx
    .insertInto('webhook_deliveries')
    .values({ id, event_id: original.event_id, endpoint_id: original.endpoint_id, next_attempt_at: now, replay_of: original.id, created_at: now, updated_at: now })
    .execute();
  return id;
}

/** The event as its deliveries send it. */
export async function eventOf(tx: WebhookTx, eventId: string): Promise<{ id: string; type: string; data: unknown; createdAt: Date } | undefined> {
  const row = await tx.selectFrom('webhook_events').select(['id', 'type', 'data', 'created_at']).where('id', '=', eventId).executeTakeFirst();
  return row && { id: row.id, type: row.type, data: row.data, createdAt: row.created_at };
}
