// /v1/members: list (any member), add, change role, remove (owners and admins).

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { access } from '../../http/access.js';
import { problems, UserIdParams } from '../../http/common-schemas.js';
import type { Services } from '../../services.js';
import { MemberManagement } from './manage-members.js';
import { listMembers, type MemberRow } from './member-repository.js';
import { AddedMemberView, AddMemberBody, ChangeRoleBody, MemberView } from './members.schemas.js';

function memberView(member: MemberRow): Static<typeof MemberView> {
  return { ...member, joinedAt: member.joinedAt.toISOString() };
}

export const membersRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const members = new MemberManagement(services.db, services.clock, services.metering.actions);
  const security = [{ bearer: [] }];

  app.get(
    '/v1/members',
    {
      config: { access: access.tenant('viewer') },
      schema: {
        tags: ['members'],
        summary: "The tenant's members and their roles",
        security,
        response: { 200: Type.Object({ data: Type.Array(MemberView) }), ...problems(400, 401, 403, 404) },
      },
    },
    async () => ({ data: (await services.db.tenant(listMembers)).map(memberView) }),
  );

  app.post(
    '/v1/members',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['members'],
        summary: 'Add a user by email; an unknown email becomes an invited user',
        security,
        body: AddMemberBody,
        response: { 201: AddedMemberView, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const added = await members.add(request.body.email, request.body.role);
      return reply.code(201).send({ ...memberView(added), ...(added.invitationToken ? { invitationToken: added.invitationToken } : {}) });
    },
  );

  app.patch(
    '/v1/members/:userId',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['members'],
        summary: "Change a member's role",
        security,
        params: UserIdParams,
        body: ChangeRoleBody,
        response: { 200: MemberView, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request) => memberView(await members.changeRole(request.params.userId, request.body.role)),
  );

  app.delete(
    '/v1/members/:userId',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['members'],
        summary: 'Remove a member from the tenant',
        security,
        params: UserIdParams,
        response: { 204: Type.Null(), ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await members.remove(request.params.userId);
      return reply.code(204).send(null);
    },
  );
};
