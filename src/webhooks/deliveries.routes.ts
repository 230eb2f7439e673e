// /v1/webhooks/deliveries and /v1/webhooks/test: the delivery log a tenant admin reads and
// replays from, and a test event to check a receiver.

import { access, actorOf } from '../http/access.js';
import { IdParams, problems } from '../http/common-schemas.js';
import { decodeCursor, encodeCursor } from '../http/page-cursor.js';
import type { ModuleRoutes } from '../modules/module.js';
import type { WebhookDeliveries } from './manage-deliveries.js';
import { DeliveryDetail, DeliveryList, ListDeliveriesQuery, Published, Replayed, TestEventBody } from './webhooks.schemas.js';
import { attemptView, deliveryView } from './webhook-views.js';

export interface DeliveryRouteDeps {
  readonly deliveries: WebhookDeliveries;
}

const tags = ['webhooks'];
const security = [{ bearer: [] }];

export const deliveryRoutes: ModuleRoutes<DeliveryRouteDeps> = async (app, { deliveries }) => {
  app.get(
    '/v1/webhooks/deliveries',
    {
      config: { access: access.tenant('admin') },
      schema: { tags, summary: 'Deliveries, newest first, a page at a time', security, querystring: ListDeliveriesQuery, response: { 200: DeliveryList } },
    },
    async (request) => {
      const { limit = 50, cursor, endpointId, status } = request.query;
      const page = await deliveries.list(actorOf(request), { endpointId, status }, limit, decodeCursor(cursor, 'desc'));
      return { data: page.rows.map(deliveryView), nextCursor: page.next ? encodeCursor(page.next, 'desc') : null };
    },
  );

  app.get(
    '/v1/webhooks/deliveries/:id',
    {
      config: { access: access.tenant('admin') },
      schema: { tags, summary: 'One delivery and each of its attempts', security, params: IdParams, response: { 200: DeliveryDetail, ...problems('not-found') } },
    },
    async (request) => {
      const { delivery, attempts } = await deliveries.get(actorOf(request), request.params.id);
      return { delivery: deliveryView(delivery), attempts: attempts.map(attemptView) };
    },
  );

  app.post(
    '/v1/webhooks/deliveries/:id/replay',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags,
        summary: 'Send a finished delivery again (same event and webhook-id, new attempts)',
        security,
        params: IdParams,
        response: { 202: Replayed, ...problems('not-found', 'conflict') },
      },
    },
    async (request, reply) => reply.code(202).send({ delivery: deliveryView(await deliveries.replay(actorOf(request), request.params.id)) }),
  );

  app.post(
    '/v1/webhooks/test',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags,
        summary: 'Publish a webhook.test event to one endpoint, or to every endpoint',
        security,
        body: TestEventBody,
        response: { 202: Published, ...problems('not-found') },
      },
    },
    async (request, reply) => reply.code(202).send(await deliveries.sendTest(actorOf(request), request.body.endpointId)),
  );
};
