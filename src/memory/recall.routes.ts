// /v1/memories/recall and /narrate: the ranked memories for a query, and the same woven into a
// chronological narrative. Viewers may recall; recalling reinforces what it finds.

import { access, actorOf } from '../http/access.js';
import type { ModuleRoutes } from '../modules/module.js';
import { memoryFilter } from './memory-filter.js';
import type { MemoryRecall } from './memory-recall.js';
import { recalledView, semanticRecalledView } from './memory-views.js';
import { NarrateBody, NarrativeAnswer, RecallAnswer, RecallBody } from './memories.schemas.js';

export interface RecallRouteDeps {
  readonly recall: MemoryRecall;
}

export const recallRoutes: ModuleRoutes<RecallRouteDeps> = async (app, { recall }) => {
  app.post(
    '/v1/memories/recall',
    {
      config: { access: access.tenant('viewer', { agents: true }) },
      schema: {
        tags: ['memory'],
        summary: 'The memories that best match a query (and its embedding, where pgvector exists), ranked in the database, each with its score parts',
        security: [{ bearer: [] }],
        body: RecallBody,
        response: { 200: RecallAnswer },
      },
    },
    async (request) => {
      const { q, limit = 10, embedding, ...filters } = request.body;
      const found = await recall.search(actorOf(request), { q, limit, embedding, filter: memoryFilter(filters) });
      const data = found.strategy === 'hybrid' ? found.rows.map(semanticRecalledView) : found.rows.map(recalledView);
      return { strategy: found.strategy, semantic: found.semantic, data };
    },
  );

  app.post(
    '/v1/memories/narrate',
    {
      config: { access: access.tenant('viewer', { agents: true }) },
      schema: {
        tags: ['memory'],
        summary: 'The memories recalled for a topic as a chronological narrative (plain text and structured)',
        security: [{ bearer: [] }],
        body: NarrateBody,
        response: { 200: NarrativeAnswer },
      },
    },
    async (request) => {
      const { topic, limit = 20, ...filters } = request.body;
      const narrative = await recall.narrate(actorOf(request), { q: topic, limit, filter: memoryFilter(filters) });
      return {
        topic: narrative.topic,
        text: narrative.text,
        from: narrative.from?.toISOString() ?? null,
        to: narrative.to?.toISOString() ?? null,
        events: narrative.events.map((event) => ({ ...event, tags: [...event.tags], createdAt: event.createdAt.toISOString() })),
      };
    },
  );
};
