// Request shapes of /v1/agents/:id/api-keys, in TypeBox; the key views are the API keys' own.

import { Type } from 'typebox';
import { Text, Timestamp, Uuid } from '../http/common-schemas.js';
import { FixedOrderPageQuery } from '../http/page.schemas.js';

export const CreateAgentKeyBody = Type.Object(
  { name: Text({ minLength: 1, maxLength: 200 }), expiresAt: Type.Optional(Timestamp) },
  { additionalProperties: false },
);

export const ListAgentKeysQuery = Type.Object(FixedOrderPageQuery, { additionalProperties: false });

export const AgentKeyParams = Type.Object({ id: Uuid, keyId: Uuid }, { additionalProperties: false });
