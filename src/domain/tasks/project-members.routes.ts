// /v1/projects/:id/members: viewers read the list; members add and remove people, who
// must be members of this tenant.

import { Type, type Static } from 'typebox';
import { access, actorOf } from '../../http/access.js';
import { IdParams, problems } from '../../http/common-schemas.js';
import { decodeCursor, encodeCursor } from '../../http/page-cursor.js';
import { FixedOrderPageQuery, PageOf } from '../../http/page.schemas.js';
import type { ModuleRoutes } from '../../modules/module.js';
import type { ProjectMemberManagement } from './manage-project-members.js';
import type { ProjectMemberRow } from './project-member-repository.js';
import { AddProjectMemberBody, ProjectMemberParams, ProjectMemberView } from './project-members.schemas.js';

function projectMemberView(member: ProjectMemberRow): Static<typeof ProjectMemberView> {
  return { ...member, addedAt: member.addedAt.toISOString() };
}

export const projectMembersRoutes: ModuleRoutes<{ readonly projectMembers: ProjectMemberManagement }> = async (app, { projectMembers: members }) => {
  const tags = ['projects'];
  const security = [{ bearer: [] }];

  app.get(
    '/v1/projects/:id/members',
    {
      config: { access: access.tenant('viewer') },
      schema: {
        tags,
        summary: "A project's members, first added first (viewer or higher)",
        security,
        params: IdParams,
        querystring: Type.Object(FixedOrderPageQuery, { additionalProperties: false }),
        response: { 200: PageOf(ProjectMemberView), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { limit = 50, cursor } = request.query;
      const page = await members.list(actorOf(request), request.params.id, limit, decodeCursor(cursor, 'asc'));
      return { data: page.rows.map(projectMemberView), nextCursor: page.next ? encodeCursor(page.next, 'asc') : null };
    },
  );

  app.post(
    '/v1/projects/:id/members',
    {
      config: { access: access.tenant('member') },
      schema: {
        tags,
        summary: 'Add a member of this tenant to a project (member or higher)',
        security,
        params: IdParams,
        body: AddProjectMemberBody,
        response: { 201: ProjectMemberView, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => reply.code(201).send(projectMemberView(await members.add(actorOf(request), request.params.id, request.body.userId))),
  );

  app.delete(
    '/v1/projects/:id/members/:userId',
    {
      config: { access: access.tenant('member') },
      schema: {
        tags,
        summary: 'Take a user off a project; they stay a member of the tenant (member or higher)',
        security,
        params: ProjectMemberParams,
        response: { 204: Type.Null(), ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await members.remove(actorOf(request), request.params.id, request.params.userId);
      return reply.code(204).send(null);
    },
  );
};
