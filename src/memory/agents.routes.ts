// /v1/agents: the tenant's agents. Viewers read; admins create, change and delete (deleting an
// agent forgets its memories). Access, validation, problem answers and tenant scoping are
// Tenantry's; this file only says what.

import { access, actorOf } from '../http/access.js';
import { IdParams, problems } from '../http/common-schemas.js';
import { decodeCursor, encodeCursor } from '../http/page-cursor.js';
import type { ModuleRoutes } from '../modules/module.js';
import { AgentDeleted, AgentList, AgentView, CreateAgentBody, ListAgentsQuery, UpdateAgentBody } from './agents.schemas.js';
import type { AgentManagement } from './manage-agents.js';
import { agentView } from './memory-views.js';
import { assertMetadataSize } from './metadata-size.js';

export interface AgentRouteDeps {
  readonly agents: AgentManagement;
}

export const agentRoutes: ModuleRoutes<AgentRouteDeps> = async (app, { agents }) => {
  app.post(
    '/v1/agents',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['memory'],
        summary: 'Register an agent (the plan limits how many)',
        security: [{ bearer: [] }],
        body: CreateAgentBody,
        response: { 201: AgentView, ...problems('conflict', 'plan-limit-reached') },
      },
    },
    async (request, reply) => {
      assertMetadataSize('body.metadata', request.body.metadata);
      const agent = await agents.create(actorOf(request), request.body);
      return reply.code(201).send(agentView(agent));
    },
  );

  app.get(
    '/v1/agents',
    {
      config: { access: access.tenant('viewer') },
      schema: {
        tags: ['memory'],
        summary: 'Agents, newest first, a page at a time',
        security: [{ bearer: [] }],
        querystring: ListAgentsQuery,
        response: { 200: AgentList },
      },
    },
    async (request) => {
      const { limit = 50, cursor } = request.query;
      const page = await agents.list(actorOf(request), { limit, sort: 'desc', after: decodeCursor(cursor, 'desc') });
      return { data: page.rows.map(agentView), nextCursor: page.next ? encodeCursor(page.next, 'desc') : null };
    },
  );

  app.get(
    '/v1/agents/:id',
    {
      config: { access: access.tenant('viewer') },
      schema: { tags: ['memory'], summary: 'One agent', security: [{ bearer: [] }], params: IdParams, response: { 200: AgentView, ...problems('not-found') } },
    },
    async (request) => agentView(await agents.get(actorOf(request), request.params.id)),
  );

  app.patch(
    '/v1/agents/:id',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['memory'],
        summary: "Change an agent's name, description or metadata",
        security: [{ bearer: [] }],
        params: IdParams,
        body: UpdateAgentBody,
        response: { 200: AgentView, ...problems('not-found', 'conflict') },
      },
    },
    async (request) => {
      assertMetadataSize('body.metadata', request.body.metadata);
      return agentView(await agents.update(actorOf(request), request.params.id, request.body));
    },
  );

  app.delete(
    '/v1/agents/:id',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['memory'],
        summary: 'Delete an agent and forget its memories',
        security: [{ bearer: [] }],
        params: IdParams,
        response: { 200: AgentDeleted, ...problems('not-found') },
      },
    },
    async (request) => {
      const forgottenMemories = await agents.remove(actorOf(request), request.params.id);
      return { id: request.params.id, forgottenMemories };
    },
  );
};
