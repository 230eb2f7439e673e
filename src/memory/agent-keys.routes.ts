// /v1/agents/:id/api-keys: an agent's own API keys. Admins create (the secret shown once), list
// and revoke them; an agent's key acts only as its agent (the routes that admit agents say so).

import { apiKeyView } from '../auth/api-keys/api-keys.routes.js';
import { ApiKeyView, CreatedApiKeyView } from '../auth/api-keys/api-keys.schemas.js';
import { access, actorOf } from '../http/access.js';
import { IdParams, problems } from '../http/common-schemas.js';
import { decodeCursor, encodeCursor } from '../http/page-cursor.js';
import { PageOf } from '../http/page.schemas.js';
import type { ModuleRoutes } from '../modules/module.js';
import { AgentKeyParams, CreateAgentKeyBody, ListAgentKeysQuery } from './agent-keys.schemas.js';
import type { AgentKeyManagement } from './manage-agent-keys.js';
import { Type } from 'typebox';

export interface AgentKeyRouteDeps {
  readonly agentKeys: AgentKeyManagement;
}

export const agentKeyRoutes: ModuleRoutes<AgentKeyRouteDeps> = async (app, { agentKeys }) => {
  app.post(
    '/v1/agents/:id/api-keys',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['memory'],
        summary: "Create an API key that acts only as this agent; the response holds the secret, shown this once",
        description:
          "The key has the member role and reaches only the memory routes, seeing and changing only this agent's memories. " +
          'It stops working when it is revoked, when the agent is deleted, or when the member who created it leaves.',
        security: [{ bearer: [] }],
        params: IdParams,
        body: CreateAgentKeyBody,
        response: { 201: CreatedApiKeyView, ...problems('not-found') },
      },
    },
    async (request, reply) => {
      const { name, expiresAt } = request.body;
      const { key, token } = await agentKeys.create(actorOf(request), request.principal!, request.params.id, {
        name,
        expiresAt: expiresAt ? new Date(expiresAt) : null,
      });
      return reply.code(201).send({ ...apiKeyView(key), key: token });
    },
  );

  app.get(
    '/v1/agents/:id/api-keys',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['memory'],
        summary: "The agent's API keys, newest first, revoked ones included (never their secrets)",
        security: [{ bearer: [] }],
        params: IdParams,
        querystring: ListAgentKeysQuery,
        response: { 200: PageOf(ApiKeyView), ...problems('not-found') },
      },
    },
    async (request) => {
      const { limit = 50, cursor } = request.query;
      const page = await agentKeys.list(actorOf(request), request.params.id, { limit, sort: 'desc', after: decodeCursor(cursor, 'desc') });
      return { data: page.rows.map(apiKeyView), nextCursor: page.next ? encodeCursor(page.next, 'desc') : null };
    },
  );

  app.delete(
    '/v1/agents/:id/api-keys/:keyId',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['memory'],
        summary: "Revoke one of the agent's API keys; it stops working at once",
        security: [{ bearer: [] }],
        params: AgentKeyParams,
        response: { 204: Type.Null(), ...problems('not-found') },
      },
    },
    async (request, reply) => {
      await agentKeys.revoke(actorOf(request), request.params.id, request.params.keyId);
      return reply.code(204).send(null);
    },
  );
};
