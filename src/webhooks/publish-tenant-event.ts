// The one way any module announces a tenant event to the tenant's webhooks: called in the
// caller's own unit of work, it writes the event, one delivery per subscribed endpoint and
// their delivery jobs (through the outbox) in that transaction, so they exist if and only if
// the change commits. Works in db.tenant() (its tenant) and db.service() (the tenant named).

import type { Tx } from '../db/database.js';
import { newId } from '../db/ids.js';
import { enqueueDelivery } from './delivery-job-message.js';
import { isEventTypeName, type TenantEvent, type TenantEventType } from './tenant-event.js';
import type { WebhookTx } from './webhook-tables.js';

export interface PublishOptions {
  /** Deliver to this endpoint only, whatever types it takes (a test event), if it is live and enabled. */
  readonly endpointId?: string;
}

export interface Published {
  /** The event's id (the webhook-id header); undefined when its key had already been published. */
  readonly eventId: string | undefined;
  readonly deliveryIds: readonly string[];
}

/**
 * Publishes `event` to the tenant's live, enabled endpoints that subscribe to its type.
 * The module that calls it declares `dependsOn: [webhooksModule]` (its tables must be registered).
 *
 * @example
 *   await db.tenant(async (tx) => {
 *     await markSigned(tx, contract);
 *     await publishTenantEvent(tx, tenantId, { type: 'contract.signed', data: { contractId: contract.id }, key: `contract.signed:${contract.id}` });
 *   });
 */
export async function publishTenantEvent<T extends TenantEventType, DB>(
  tx: Tx<DB>,
  tenantId: string,
  event: TenantEvent<T>,
  options: PublishOptions = {},
): Promise<Published> {
  if (!isEventTypeName(event.type)) throw new TypeError(`"${event.type}" is not an event type name (dotted lowercase, e.g. contract.signed)`);
  const db = tx as unknown as WebhookTx;
  const eventId = newId();
  // tenant_id is written and filtered explicitly: inside db.service() no query filter adds it.
  const inserted = await db
    .insertInto('webhook_events')
    .values({ tenant_id: tenantId, id: eventId, type: event.type, data: JSON.stringify(event.data ?? null), dedup_key: event.key ?? null })
    .onConflict((conflict) => conflict.columns(['tenant_id', 'dedup_key']).where('dedup_key', 'is not', null).doNothing())
    .returning(['id', 'created_at'])
    .executeTakeFirst();
  if (!inserted) return { eventId: undefined, deliveryIds: [] };

  const live = db.selectFrom('webhook_endpoints').select('id').where('tenant_id', '=', tenantId).where('deleted_at', 'is', null).where('enabled', '=', true);
  const endpoints = options.endpointId
    ? live.where('id', '=', options.endpointId)
    : live.where((eb) => eb.or([eb('event_types', 'is', null), eb('event_types', '@>', eb.val([event.type]))]));
  const targets = await endpoints.orderBy('created_at').execute();
  if (targets.length === 0) return { eventId, deliveryIds: [] };

  const deliveries = targets.map((endpoint) => ({
    tenant_id: tenantId,
    id: newId(),
    event_id: eventId,
    endpoint_id: endpoint.id,
    next_attempt_at: inserted.created_at,
  }));
  await db.insertInto('webhook_deliveries').values(deliveries).execute();
  for (const delivery of deliveries) await enqueueDelivery(tx, tenantId, { deliveryId: delivery.id, attempt: 0 });
  return { eventId, deliveryIds: deliveries.map((delivery) => delivery.id) };
}
