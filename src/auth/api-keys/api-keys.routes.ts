// /v1/api-keys: list, create (secret shown once), revoke; the rules are in manage-api-keys.ts.

import { Type, type Static } from 'typebox';
import { ApiKeyView, CreateApiKeyBody, CreatedApiKeyView } from './api-keys.schemas.js';
import type { ApiKeyManagement } from './manage-api-keys.js';
import type { ApiKey } from '../../db/tables.js';
import { access, actorOf } from '../../http/access.js';
import { IdParams, problems } from '../../http/common-schemas.js';
import { decodeCursor, encodeCursor } from '../../http/page-cursor.js';
import { FixedOrderPageQuery, PageOf } from '../../http/page.schemas.js';
import type { ModuleRoutes } from '../../modules/module.js';

export function apiKeyView(key: ApiKey): Static<typeof ApiKeyView> {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    kind: key.kind,
    role: key.role,
    scopes: key.scopes,
    createdBy: key.created_by,
    createdByKeyId: key.created_by_key_id,
    agentId: key.agent_id,
    createdAt: key.created_at.toISOString(),
    expiresAt: key.expires_at?.toISOString() ?? null,
    lastUsedAt: key.last_used_at?.toISOString() ?? null,
    revokedAt: key.revoked_at?.toISOString() ?? null,
  };
}

export const apiKeysRoutes: ModuleRoutes<{ readonly apiKeys: ApiKeyManagement }> = async (app, { apiKeys: keys }) => {
  app.get(
    '/v1/api-keys',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['api-keys'],
        summary: "List the tenant's API keys, newest first (never their secrets)",
        security: [{ bearer: [] }],
        querystring: Type.Object(FixedOrderPageQuery, { additionalProperties: false }),
        response: { 200: PageOf(ApiKeyView), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { limit = 50, cursor } = request.query;
      const page = await keys.list(actorOf(request), limit, decodeCursor(cursor, 'desc'));
      return { data: page.rows.map(apiKeyView), nextCursor: page.next ? encodeCursor(page.next, 'desc') : null };
    },
  );

  app.post(
    '/v1/api-keys',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['api-keys'],
        summary: 'Create an API key; the response holds the secret, shown this once',
        description:
          "A key of kind agent counts against the plan's agents limit (live agent keys: not revoked, not expired); " +
          'past it the answer is 403 plan-limit-reached with the plan that allows one more.',
        security: [{ bearer: [] }],
        body: CreateApiKeyBody,
        response: { 201: CreatedApiKeyView, ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { name, kind = 'user', role = 'member', scopes = [], expiresAt } = request.body;
      const { key, token } = await keys.create(actorOf(request), request.principal!, {
        name,
        kind,
        role,
        scopes,
        expiresAt: expiresAt ? new Date(expiresAt) : null,
      });
      return reply.code(201).send({ ...apiKeyView(key), key: token });
    },
  );

  app.delete(
    '/v1/api-keys/:id',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['api-keys'],
        summary: 'Revoke an API key, and every key minted with it; they stop working at once',
        security: [{ bearer: [] }],
        params: IdParams,
        response: { 204: Type.Null(), ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await keys.revoke(actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
