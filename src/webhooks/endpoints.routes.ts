// /v1/webhooks/endpoints: where a tenant's events are sent. Owners and admins only: an endpoint
// receives the tenant's events, and its secret is shown to whoever creates or rotates it.

import { access, actorOf } from '../http/access.js';
import { IdParams, problems } from '../http/common-schemas.js';
import { decodeCursor, encodeCursor } from '../http/page-cursor.js';
import type { ModuleRoutes } from '../modules/module.js';
import type { WebhookEndpoints } from './manage-endpoints.js';
import { CreateEndpointBody, EndpointDeleted, EndpointList, EndpointView, EndpointWithSecret, ListEndpointsQuery, UpdateEndpointBody } from './webhooks.schemas.js';
import { endpointView } from './webhook-views.js';

export interface EndpointRouteDeps {
  readonly endpoints: WebhookEndpoints;
}

const tags = ['webhooks'];
const security = [{ bearer: [] }];

export const endpointRoutes: ModuleRoutes<EndpointRouteDeps> = async (app, { endpoints }) => {
  app.post(
    '/v1/webhooks/endpoints',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags,
        summary: 'Add a webhook endpoint; the answer carries its signing secret, shown this once',
        security,
        body: CreateEndpointBody,
        response: { 201: EndpointWithSecret, ...problems('webhook-url-refused', 'conflict', 'webhook-signing-unavailable') },
      },
    },
    async (request, reply) => {
      const created = await endpoints.create(actorOf(request), request.body);
      return reply.code(201).send({ endpoint: endpointView(created.endpoint), secret: created.secret });
    },
  );

  app.get(
    '/v1/webhooks/endpoints',
    {
      config: { access: access.tenant('admin') },
      schema: { tags, summary: "The tenant's webhook endpoints, newest first (never their secrets)", security, querystring: ListEndpointsQuery, response: { 200: EndpointList } },
    },
    async (request) => {
      const { limit = 50, cursor } = request.query;
      const page = await endpoints.list(actorOf(request), limit, decodeCursor(cursor, 'desc'));
      return { data: page.rows.map(endpointView), nextCursor: page.next ? encodeCursor(page.next, 'desc') : null };
    },
  );

  app.get(
    '/v1/webhooks/endpoints/:id',
    {
      config: { access: access.tenant('admin') },
      schema: { tags, summary: 'One webhook endpoint', security, params: IdParams, response: { 200: EndpointView, ...problems('not-found') } },
    },
    async (request) => endpointView(await endpoints.get(actorOf(request), request.params.id)),
  );

  app.patch(
    '/v1/webhooks/endpoints/:id',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags,
        summary: "Change an endpoint's address, description, event types, or switch it off and on",
        security,
        params: IdParams,
        body: UpdateEndpointBody,
        response: { 200: EndpointView, ...problems('not-found', 'webhook-url-refused') },
      },
    },
    async (request) => endpointView(await endpoints.update(actorOf(request), request.params.id, request.body)),
  );

  app.delete(
    '/v1/webhooks/endpoints/:id',
    {
      config: { access: access.tenant('admin') },
      schema: { tags, summary: 'Delete an endpoint; its pending deliveries stop', security, params: IdParams, response: { 200: EndpointDeleted, ...problems('not-found') } },
    },
    async (request) => {
      await endpoints.remove(actorOf(request), request.params.id);
      return { id: request.params.id, deleted: true as const };
    },
  );

  app.post(
    '/v1/webhooks/endpoints/:id/rotate-secret',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags,
        summary: 'A new signing secret, shown this once; the old one keeps signing beside it for the overlap',
        security,
        params: IdParams,
        response: { 200: EndpointWithSecret, ...problems('not-found', 'webhook-signing-unavailable') },
      },
    },
    async (request) => {
      const rotated = await endpoints.rotateSecret(actorOf(request), request.params.id);
      return { endpoint: endpointView(rotated.endpoint), secret: rotated.secret };
    },
  );
};
