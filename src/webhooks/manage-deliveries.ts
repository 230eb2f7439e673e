// The tenant's view of its deliveries: the log (deliveries newest first, each with its
// attempts), replay (a new delivery of the same event, same webhook-id, with a fresh retry
// window) and the test event. All inside the tenant's unit of work.

import type { Clock } from '../clock.js';
import type { Page, PagePosition } from '../db/keyset-page.js';
import { AppError } from '../http/problems.js';
import type { Actor } from '../tenancy/actor.js';
import { enqueueDelivery } from './delivery-job-message.js';
import { attemptsOf, findDelivery, insertReplay, listDeliveries, type AttemptRow, type DeliveryFilter, type DeliveryRow } from './delivery-repository.js';
import { findEndpoint } from './endpoint-repository.js';
import { publishTenantEvent } from './publish-tenant-event.js';
import type { WebhookDatabase } from './webhook-tables.js';

function notFound(what: string): AppError {
  return new AppError('not-found', `no webhook ${what} with this id`);
}

export class WebhookDeliveries {
  constructor(
    private readonly db: WebhookDatabase,
    private readonly clock: Clock,
  ) {}

  list(_actor: Actor, filter: DeliveryFilter, limit: number, after: PagePosition | undefined): Promise<Page<DeliveryRow>> {
    return this.db.tenant((tx) => listDeliveries(tx, filter, limit, after));
  }

  async get(_actor: Actor, id: string): Promise<{ delivery: DeliveryRow; attempts: AttemptRow[] }> {
    return this.db.tenant(async (tx) => {
      const delivery = await findDelivery(tx, id);
      if (!delivery) throw notFound('delivery');
      return { delivery, attempts: await attemptsOf(tx, id) };
    });
  }

  /** A delivery still being retried is not replayed: its own next attempt is on its way. */
  async replay(actor: Actor, id: string): Promise<DeliveryRow> {
    return this.db.tenant(async (tx) => {
      const original = await findDelivery(tx, id);
      if (!original) throw notFound('delivery');
      if (original.status === 'pending') throw new AppError('conflict', 'the delivery is still being retried; replay it once it has succeeded or failed');
      if (!(await findEndpoint(tx, original.endpoint_id))) throw new AppError('conflict', 'the endpoint of this delivery was deleted');
      const replayId = await insertReplay(tx, original, this.clock.now());
      await enqueueDelivery(tx, actor.tenantId, { deliveryId: replayId, attempt: 0 });
      return (await findDelivery(tx, replayId))!;
    });
  }

  /** Publishes a webhook.test event to one endpoint (or every endpoint that takes it). */
  async sendTest(actor: Actor, endpointId: string | undefined): Promise<{ eventId: string; deliveryIds: string[] }> {
    return this.db.tenant(async (tx) => {
      if (endpointId && !(await findEndpoint(tx, endpointId))) throw notFound('endpoint');
      const published = await publishTenantEvent(
        tx,
        actor.tenantId,
        { type: 'webhook.test', data: { message: 'A test event sent on request from the webhooks API.' } },
        { endpointId },
      );
      return { eventId: published.eventId!, deliveryIds: [...published.deliveryIds] };
    });
  }
}
