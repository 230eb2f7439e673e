// Request and response shapes of /v1/agents, in TypeBox: they validate requests and document
// the API in Tenantry's OpenAPI document.

import { Type } from 'typebox';
import { Text, Timestamp, Uuid } from '../http/common-schemas.js';
import { FixedOrderPageQuery, PageOf } from '../http/page.schemas.js';
import { StoredJsonObject } from '../http/stored-json.js';

/** JSON text of a metadata object, at most (checked by the use cases; the table allows twice this for jsonb's spacing). */
export const MAX_METADATA_BYTES = 8192;

export const Metadata = StoredJsonObject({ maxProperties: 64, description: `A JSON object, at most ${MAX_METADATA_BYTES} bytes as JSON text` });

const AgentName = Text({ minLength: 1, maxLength: 100, nonBlank: true, description: "Unique among the tenant's agents, ignoring case" });
const AgentDescription = Text({ maxLength: 2000 });

export const CreateAgentBody = Type.Object(
  { name: AgentName, description: Type.Optional(AgentDescription), metadata: Type.Optional(Metadata) },
  { additionalProperties: false },
);

export const UpdateAgentBody = Type.Object(
  { name: Type.Optional(AgentName), description: Type.Optional(AgentDescription), metadata: Type.Optional(Metadata) },
  { additionalProperties: false, minProperties: 1 },
);

export const ListAgentsQuery = Type.Object(FixedOrderPageQuery, { additionalProperties: false });

export const AgentView = Type.Object({
  id: Uuid,
  name: Type.String(),
  description: Type.String(),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const AgentList = PageOf(AgentView);

export const AgentDeleted = Type.Object({
  id: Uuid,
  forgottenMemories: Type.Integer({ description: "The agent's memories, forgotten with it" }),
});
