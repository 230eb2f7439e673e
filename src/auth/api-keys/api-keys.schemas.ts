// Request and response schemas of /v1/api-keys.

import { Type } from 'typebox';
import { RoleSchema, Text, Timestamp, Uuid } from '../../http/common-schemas.js';

export const Scope = Type.String({ pattern: '^[a-z_]+:(read|write|\\*)$', maxLength: 64 });

export const CreateApiKeyBody = Type.Object(
  {
    name: Text({ minLength: 1, maxLength: 200 }),
    kind: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('agent')])),
    role: Type.Optional(Type.Union([Type.Literal('admin'), Type.Literal('member'), Type.Literal('viewer')])),
    scopes: Type.Optional(Type.Array(Scope, { maxItems: 32, uniqueItems: true })),
    expiresAt: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);

export const ApiKeyView = Type.Object({
  id: Uuid,
  name: Type.String(),
  prefix: Type.String(),
  kind: Type.String(),
  role: RoleSchema,
  scopes: Type.Array(Type.String()),
  createdBy: Type.Union([Uuid, Type.Null()], { description: 'The person the key acts for (null only on old revoked keys)' }),
  createdByKeyId: Type.Union([Uuid, Type.Null()], { description: 'The key this one was minted with, if any' }),
  agentId: Type.Union([Uuid, Type.Null()], { description: 'The agent the key acts as (kind agent), if any' }),
  createdAt: Timestamp,
  expiresAt: Type.Union([Timestamp, Type.Null()]),
  lastUsedAt: Type.Union([Timestamp, Type.Null()]),
  revokedAt: Type.Union([Timestamp, Type.Null()]),
});

export const CreatedApiKeyView = Type.Object({
  ...ApiKeyView.properties,
  key: Type.String({ description: 'Shown once; only its hash is stored' }),
});
