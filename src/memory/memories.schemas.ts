// Request and response shapes of /v1/memories and /v1/memory-settings, in TypeBox: they
// validate requests and document the API in Tenantry's OpenAPI document.

import { Type, type TSchema } from 'typebox';
import { Text, Timestamp, Uuid } from '../http/common-schemas.js';
import { FixedOrderPageQuery, PageOf } from '../http/page.schemas.js';
import { Metadata } from './agents.schemas.js';

export const ZoneSchema = Type.Union(
  [Type.Literal('core'), Type.Literal('inner'), Type.Literal('outer'), Type.Literal('belt'), Type.Literal('cloud')],
  { description: 'core, inner, outer, belt, cloud: from the most to the least relevant orbit' },
);

const Content = Text({ minLength: 1, maxLength: 8000, nonBlank: true });
const Importance = Type.Number({ minimum: 0, maximum: 1, description: '0..1; 0.5 when left out' });
const Tag = Text({ minLength: 1, maxLength: 50, nonBlank: true });
const Tags = Type.Array(Tag, { maxItems: 20, uniqueItems: true });
/** JSON has no NaN or Infinity: every number here is finite. Its length must be the tenant's embeddingDimension. */
const Embedding = Type.Array(Type.Number(), {
  minItems: 1,
  maxItems: 2000,
  description: "An embedding of the content, as many numbers as the tenant's embeddingDimension (semantic recall; needs pgvector)",
});

export const StoreMemoryBody = Type.Object(
  {
    content: Content,
    importance: Type.Optional(Importance),
    tags: Type.Optional(Tags),
    metadata: Type.Optional(Metadata),
    agentId: Type.Optional(Type.String({ format: 'uuid', description: 'One of the tenant’s agents' })),
    embedding: Type.Optional(Embedding),
  },
  { additionalProperties: false },
);

export const StoreMemoryHeaders = Type.Object(
  {
    'idempotency-key': Type.Optional(
      Text({ minLength: 1, maxLength: 200, description: 'A retry with the same key answers with the memory the first attempt stored' }),
    ),
  },
  { additionalProperties: true },
);

export const UpdateMemoryBody = Type.Object(
  { content: Type.Optional(Content), importance: Type.Optional(Importance), tags: Type.Optional(Tags), metadata: Type.Optional(Metadata) },
  { additionalProperties: false, minProperties: 1 },
);

/** Filters shared by recall, narrate and the lists. */
const Filters = {
  agentId: Type.Optional(Type.String({ format: 'uuid' })),
  zones: Type.Optional(Type.Array(ZoneSchema, { minItems: 1, maxItems: 5, uniqueItems: true })),
  tags: Type.Optional(Type.Array(Tag, { minItems: 1, maxItems: 20, uniqueItems: true, description: 'Memories holding every one of these tags' })),
  since: Type.Optional(Timestamp),
  until: Type.Optional(Timestamp),
  minImportance: Type.Optional(Importance),
};

/** A query string names one value per parameter: one tag and one zone here, any number in recall's body. */
export const ListMemoriesQuery = Type.Object(
  {
    ...FixedOrderPageQuery,
    agentId: Filters.agentId,
    zone: Type.Optional(ZoneSchema),
    tag: Type.Optional(Tag),
    since: Filters.since,
    until: Filters.until,
    minImportance: Filters.minImportance,
  },
  { additionalProperties: false },
);

const RecallLimit = Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 10 }));

export const RecallBody = Type.Object(
  {
    q: Text({ minLength: 1, maxLength: 500, nonBlank: true, description: 'Words to recall by (web-search syntax: "phrases", -excluded, or)' }),
    ...Filters,
    limit: RecallLimit,
    embedding: Type.Optional({ ...Embedding, description: 'The query as an embedding: fused with the text ranking where the database has pgvector' }),
  },
  { additionalProperties: false },
);

export const NarrateBody = Type.Object(
  { topic: Text({ minLength: 1, maxLength: 500, nonBlank: true }), ...Filters, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 20 })) },
  { additionalProperties: false },
);

export const ForgetBody = Type.Object(
  {
    agentId: Filters.agentId,
    tags: Filters.tags,
    zones: Filters.zones,
    olderThan: Type.Optional(Type.String({ format: 'date-time', description: 'Memories stored before this instant' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

/** What every answer shows of a memory, the full view and a recalled one alike. */
const MemoryFields = {
  id: Uuid,
  agentId: Type.Union([Uuid, Type.Null()]),
  content: Type.String(),
  importance: Type.Number(),
  tags: Type.Array(Type.String()),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  zone: ZoneSchema,
  createdAt: Timestamp,
};

export const MemoryView = Type.Object({
  ...MemoryFields,
  version: Type.Integer(),
  recallCount: Type.Integer(),
  reinforcementCount: Type.Integer(),
  lastRecalledAt: Type.Union([Timestamp, Type.Null()]),
  updatedAt: Timestamp,
});

export const MemoryList = PageOf(MemoryView);

export const StoreMemoryAnswer = Type.Object({
  outcome: Type.Union([Type.Literal('created'), Type.Literal('reinforced'), Type.Literal('replayed')], {
    description: 'created (201); reinforced: a near-duplicate of the same agent’s memory was used again instead; replayed: the idempotency key’s memory',
  }),
  similarity: Type.Optional(Type.Number({ description: 'reinforced: trigram similarity to the stored memory' })),
  memory: MemoryView,
});

const Parts = Type.Object({
  relevance: Type.Number({ description: 'greatest of text and half of trigram' }),
  text: Type.Number({ description: 'full-text rank, 0..1' }),
  trigram: Type.Number({ description: 'trigram word similarity, 0..1' }),
  importance: Type.Number(),
  recency: Type.Number(),
  frequency: Type.Number(),
  vector: Type.Optional(Type.Union([Type.Number(), Type.Null()], { description: 'hybrid only: cosine similarity to the query embedding; null when not among the nearest' })),
  textScore: Type.Optional(Type.Number({ description: 'hybrid only: the weighted text-recall score the text rank orders by' })),
  textRank: Type.Optional(Type.Union([Type.Integer(), Type.Null()], { description: 'hybrid only: rank among text matches; null when the words did not match' })),
  vectorRank: Type.Optional(Type.Union([Type.Integer(), Type.Null()], { description: 'hybrid only: rank among the nearest embeddings' })),
  rrf: Type.Optional(Type.Number({ description: 'hybrid only: 1/(60 + textRank) + 1/(60 + vectorRank), a missing rank counting 0' })),
});

const Recalled = Type.Object({
  memory: Type.Object(MemoryFields),
  score: Type.Number({ description: 'text: the weighted mean of the parts, by the tenant’s weights; hybrid: the rrf part' }),
  parts: Parts,
});

export const RecallAnswer = Type.Object({
  strategy: Type.Union([Type.Literal('text'), Type.Literal('hybrid')], {
    description: 'text: full-text and trigram ranking; hybrid: that ranking fused with vector similarity by reciprocal rank fusion',
  }),
  semantic: Type.Object({ available: Type.Boolean(), reason: Type.Optional(Type.String()) }),
  data: Type.Array(Recalled),
});

export const NarrativeAnswer = Type.Object({
  topic: Type.String(),
  text: Type.String({ description: 'The memories as a chronological account, a paragraph per day' }),
  from: Type.Union([Timestamp, Type.Null()]),
  to: Type.Union([Timestamp, Type.Null()]),
  events: Type.Array(
    Type.Object({ id: Uuid, agentId: Type.Union([Uuid, Type.Null()]), content: Type.String(), tags: Type.Array(Type.String()), createdAt: Timestamp, score: Type.Number() }),
  ),
});

export const ForgetAnswer = Type.Object({ forgotten: Type.Integer() });

export const MemoryVersionView = Type.Object({
  version: Type.Integer(),
  content: Type.String(),
  importance: Type.Number(),
  tags: Type.Array(Type.String()),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  writtenAt: Timestamp,
  replacedAt: Timestamp,
});

export const HistoryQuery = Type.Object(FixedOrderPageQuery, { additionalProperties: false });

export const HistoryAnswer = PageOf(MemoryVersionView);

const zoneCounts = Object.fromEntries(['core', 'inner', 'outer', 'belt', 'cloud'].map((zone) => [zone, Type.Integer()])) as Record<string, TSchema>;

export const StatsAnswer = Type.Object({
  memories: Type.Integer(),
  bytes: Type.Integer(),
  averageImportance: Type.Union([Type.Number(), Type.Null()]),
  recalls: Type.Integer(),
  reinforcements: Type.Integer(),
  byZone: Type.Object(zoneCounts),
  movedLastDay: Type.Object(zoneCounts, { description: 'memories the re-zoning job moved into each zone in the last 24 hours' }),
  byAgent: Type.Array(Type.Object({ agentId: Type.Union([Uuid, Type.Null()]), name: Type.Union([Type.String(), Type.Null()]), memories: Type.Integer() })),
  quota: Type.Object({ limit: Type.Union([Type.Integer(), Type.Null()], { description: 'null: unlimited' }), used: Type.Integer() }),
  mostRecalled: Type.Array(Type.Object({ id: Uuid, content: Type.String(), recallCount: Type.Integer() })),
});

const Weight = Type.Number({ minimum: 0, maximum: 1 });

export const MemorySettingsView = Type.Object({
  relevanceWeight: Weight,
  importanceWeight: Weight,
  recencyWeight: Weight,
  frequencyWeight: Weight,
  recencyHalfLifeHours: Type.Number({ minimum: 1, maximum: 87600 }),
  duplicateThreshold: Type.Number({ minimum: 0.3, maximum: 1 }),
  embeddingDimension: Type.Union([Type.Integer({ minimum: 1, maximum: 2000 }), Type.Null()], {
    description: 'How many numbers every embedding of this tenant has (semantic recall, where the database has pgvector); null: none stored yet',
  }),
});

export const MemorySettingsPatchBody = Type.Partial(MemorySettingsView, { additionalProperties: false, minProperties: 1 });

export const RezoneAccepted = Type.Object({ status: Type.Literal('queued') });
