// /v1/memories: store, read, list (newest first), the timeline (oldest first), update with
// history, and forget (one, or by filter). Viewers read; members write.

import { Type, type Static } from 'typebox';
import { access, actorOf } from '../http/access.js';
import { IdParams, problems } from '../http/common-schemas.js';
import { decodeCursor, encodeCursor } from '../http/page-cursor.js';
import type { ModuleRoutes } from '../modules/module.js';
import type { SortOrder } from '../db/keyset-page.js';
import type { Actor } from '../tenancy/actor.js';
import type { MemoryManagement } from './manage-memories.js';
import { memoryFilter } from './memory-filter.js';
import { memoryView, versionView } from './memory-views.js';
import {
  ForgetAnswer,
  ForgetBody,
  HistoryAnswer,
  HistoryQuery,
  ListMemoriesQuery,
  MemoryList,
  MemoryView,
  StoreMemoryAnswer,
  StoreMemoryBody,
  StoreMemoryHeaders,
  UpdateMemoryBody,
} from './memories.schemas.js';
import { assertMetadataSize } from './metadata-size.js';

export interface MemoryRouteDeps {
  readonly memories: MemoryManagement;
}

/** One page of the filtered memories, newest first (the list) or oldest first (the timeline). */
async function listPage(memories: MemoryManagement, actor: Actor, query: Static<typeof ListMemoriesQuery>, sort: SortOrder) {
  const { limit = 50, cursor, zone, tag, ...filters } = query;
  const filter = memoryFilter({ ...filters, zones: zone === undefined ? undefined : [zone], tags: tag === undefined ? undefined : [tag] });
  const page = await memories.list(actor, filter, { limit, sort, after: decodeCursor(cursor, sort) });
  return { data: page.rows.map(memoryView), nextCursor: page.next ? encodeCursor(page.next, sort) : null };
}

export const memoryRoutes: ModuleRoutes<MemoryRouteDeps> = async (app, { memories }) => {
  app.post(
    '/v1/memories',
    {
      config: { access: access.tenant('member', { agents: true }) },
      schema: {
        tags: ['memory'],
        summary: 'Store a memory, or reinforce the near-duplicate the same agent already has',
        security: [{ bearer: [] }],
        headers: StoreMemoryHeaders,
        body: StoreMemoryBody,
        response: { 200: StoreMemoryAnswer, 201: StoreMemoryAnswer, ...problems('conflict', 'plan-limit-reached') },
      },
    },
    async (request, reply) => {
      assertMetadataSize('body.metadata', request.body.metadata);
      const stored = await memories.store(actorOf(request), { ...request.body, idempotencyKey: request.headers['idempotency-key'] });
      const answer = { ...stored, memory: memoryView(stored.memory) };
      return reply.code(stored.outcome === 'created' ? 201 : 200).send(answer);
    },
  );

  app.get(
    '/v1/memories',
    {
      config: { access: access.tenant('viewer', { agents: true }) },
      schema: {
        tags: ['memory'],
        summary: 'Memories, newest first, a page at a time, filtered like recall',
        security: [{ bearer: [] }],
        querystring: ListMemoriesQuery,
        response: { 200: MemoryList },
      },
    },
    async (request) => listPage(memories, actorOf(request), request.query, 'desc'),
  );

  app.get(
    '/v1/memories/timeline',
    {
      config: { access: access.tenant('viewer', { agents: true }) },
      schema: {
        tags: ['memory'],
        summary: 'Memories in the order they were stored, a page at a time, filtered like recall',
        security: [{ bearer: [] }],
        querystring: ListMemoriesQuery,
        response: { 200: MemoryList },
      },
    },
    async (request) => listPage(memories, actorOf(request), request.query, 'asc'),
  );

  app.get(
    '/v1/memories/:id',
    {
      config: { access: access.tenant('viewer', { agents: true }) },
      schema: { tags: ['memory'], summary: 'One memory', security: [{ bearer: [] }], params: IdParams, response: { 200: MemoryView, ...problems('not-found') } },
    },
    async (request) => memoryView(await memories.get(actorOf(request), request.params.id)),
  );

  app.patch(
    '/v1/memories/:id',
    {
      config: { access: access.tenant('member', { agents: true }) },
      schema: {
        tags: ['memory'],
        summary: 'Change a memory; the version it replaces is kept in its history',
        security: [{ bearer: [] }],
        params: IdParams,
        body: UpdateMemoryBody,
        response: { 200: MemoryView, ...problems('not-found') },
      },
    },
    async (request) => {
      assertMetadataSize('body.metadata', request.body.metadata);
      return memoryView(await memories.update(actorOf(request), request.params.id, request.body));
    },
  );

  app.get(
    '/v1/memories/:id/history',
    {
      config: { access: access.tenant('viewer', { agents: true }) },
      schema: {
        tags: ['memory'],
        summary: 'The versions of a memory that updates replaced, newest first, a page at a time (the current one is the memory)',
        security: [{ bearer: [] }],
        params: IdParams,
        querystring: HistoryQuery,
        response: { 200: HistoryAnswer, ...problems('not-found') },
      },
    },
    async (request) => {
      const { limit = 50, cursor } = request.query;
      const page = await memories.history(actorOf(request), request.params.id, { limit, sort: 'desc', after: decodeCursor(cursor, 'desc') });
      return { data: page.rows.map(versionView), nextCursor: page.next ? encodeCursor(page.next, 'desc') : null };
    },
  );

  app.delete(
    '/v1/memories/:id',
    {
      config: { access: access.tenant('member', { agents: true }) },
      schema: { tags: ['memory'], summary: 'Forget a memory', security: [{ bearer: [] }], params: IdParams, response: { 204: Type.Null(), ...problems('not-found') } },
    },
    async (request, reply) => {
      await memories.forget(actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/memories/forget',
    {
      config: { access: access.tenant('member', { agents: true }) },
      schema: {
        tags: ['memory'],
        summary: 'Forget every memory matching the filter (agent, tags, zones, stored before); answers how many',
        security: [{ bearer: [] }],
        body: ForgetBody,
        response: { 200: ForgetAnswer },
      },
    },
    async (request) => {
      const { olderThan, ...filters } = request.body;
      const forgotten = await memories.forgetWhere(actorOf(request), memoryFilter({ ...filters, until: olderThan }));
      return { forgotten };
    },
  );
};
