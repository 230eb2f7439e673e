// /v1/api-keys: list, create (secret shown once), revoke. Admins manage keys; a key acts for
// the person behind the credential that created it and never exceeds that credential.
// Agent keys count against the plan's `agents` limit, taken in the creating transaction.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { generateApiKey } from '../api-key-format.js';
import { sha256 } from '../opaque-tokens.js';
import { ApiKeyView, CreateApiKeyBody, CreatedApiKeyView } from './api-keys.schemas.js';
import { countLiveAgentKeys, insertApiKey, listApiKeys, revokeApiKey } from './api-key-repository.js';
import { keyGrant } from './key-minting.js';
import { newId } from '../../db/ids.js';
import type { ApiKey } from '../../db/tables.js';
import { access } from '../../http/access.js';
import { IdParams, problems } from '../../http/common-schemas.js';
import { decodeCursor, encodeCursor } from '../../http/page-cursor.js';
import { FixedOrderPageQuery, PageOf } from '../../http/page.schemas.js';
import { AppError } from '../../http/problems.js';
import { currentTenantId } from '../../tenancy/context.js';
import type { Services } from '../../services.js';

function apiKeyView(key: ApiKey): Static<typeof ApiKeyView> {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    kind: key.kind,
    role: key.role,
    scopes: key.scopes,
    createdBy: key.created_by,
    createdByKeyId: key.created_by_key_id,
    createdAt: key.created_at.toISOString(),
    expiresAt: key.expires_at?.toISOString() ?? null,
    lastUsedAt: key.last_used_at?.toISOString() ?? null,
    revokedAt: key.revoked_at?.toISOString() ?? null,
  };
}

export const apiKeysRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { db, clock } = services;
  const usage = services.metering.actions;

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
      const page = await db.tenant((tx) => listApiKeys(tx, limit, decodeCursor(cursor, 'desc')));
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
      const expiresAt = request.body.expiresAt ? new Date(request.body.expiresAt) : null;
      if (expiresAt && expiresAt <= clock.now()) throw new AppError('validation-failed', 'expiresAt must be in the future');
      const grant = keyGrant(request.principal!, request.context.role!, {
        role: request.body.role ?? 'member',
        scopes: request.body.scopes ?? [],
        expiresAt,
      });
      const generated = generateApiKey();
      const kind = request.body.kind ?? 'user';
      const now = clock.now();
      const key = await db.tenant(async (tx) => {
        // The agents counter is locked and the live agent keys counted before this one is written.
        if (kind === 'agent') await usage.agentAdded(tx, (tx) => countLiveAgentKeys(tx, now));
        return insertApiKey(tx, {
          tenantId: currentTenantId(),
          id: newId(),
          prefix: generated.prefix,
          secretHash: sha256(generated.secret),
          name: request.body.name,
          kind,
          role: grant.role,
          scopes: grant.scopes,
          createdBy: grant.createdBy,
          createdByKeyId: grant.createdByKeyId,
          expiresAt: grant.expiresAt,
        });
      });
      return reply.code(201).send({ ...apiKeyView(key), key: generated.token });
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
      const now = clock.now();
      const revoked = await db.tenant(async (tx) => {
        await usage.lockAgents(tx);
        const keys = await revokeApiKey(tx, request.params.id, now);
        if (keys && keys.agents > 0) await usage.agentsRemoved(tx, (tx) => countLiveAgentKeys(tx, now));
        return keys;
      });
      if (!revoked) throw new AppError('not-found', 'no live API key with this id');
      return reply.code(204).send(null);
    },
  );
};
