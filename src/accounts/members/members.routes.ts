// /v1/members: list (any member), invite, change role, remove (owners and admins).
// /v1/invitations: list pending invitations and withdraw one (owners and admins).

import { Type, type Static } from 'typebox';
import { access, actorOf } from '../../http/access.js';
import { IdParams, problems, UserIdParams } from '../../http/common-schemas.js';
import { decodeCursor, encodeCursor } from '../../http/page-cursor.js';
import { FixedOrderPageQuery, PageOf } from '../../http/page.schemas.js';
import type { Database } from '../../db/database.js';
import type { ModuleRoutes } from '../../modules/module.js';
import type { PendingInvitation } from './invitation-repository.js';
import type { MemberManagement } from './manage-members.js';
import { listMembers, type MemberRow } from './member-repository.js';
import { ChangeRoleBody, InvitationView, InviteMemberBody, IssuedInvitationView, MemberView } from './members.schemas.js';

function memberView(member: MemberRow): Static<typeof MemberView> {
  return { ...member, joinedAt: member.joinedAt.toISOString() };
}

function invitationView(invitation: PendingInvitation): Static<typeof InvitationView> {
  return {
    invitationId: invitation.invitationId,
    email: invitation.email,
    role: invitation.role,
    status: 'invited',
    invitedBy: invitation.invitedBy,
    createdAt: invitation.createdAt.toISOString(),
    expiresAt: invitation.expiresAt.toISOString(),
  };
}

export interface MembersRouteDeps {
  readonly db: Database;
  readonly members: MemberManagement;
}

export const membersRoutes: ModuleRoutes<MembersRouteDeps> = async (app, { db, members }) => {
  const security = [{ bearer: [] }];

  app.get(
    '/v1/members',
    {
      config: { access: access.tenant('viewer') },
      schema: {
        tags: ['members'],
        summary: "The tenant's members and their roles, oldest first",
        security,
        querystring: Type.Object(FixedOrderPageQuery, { additionalProperties: false }),
        response: { 200: PageOf(MemberView), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { limit = 50, cursor } = request.query;
      const page = await db.tenant((tx) => listMembers(tx, limit, decodeCursor(cursor, 'asc')));
      return { data: page.rows.map(memberView), nextCursor: page.next ? encodeCursor(page.next, 'asc') : null };
    },
  );

  app.post(
    '/v1/members',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['members'],
        summary: 'Invite an email to the tenant; they join when they accept the invitation',
        description:
          'Always creates an invitation, never a membership, and answers the same whether or not an account has this email. ' +
          'The invitee redeems the token at /v1/auth/accept-invitation: signed in as the account with this email, or by creating one.',
        security,
        body: InviteMemberBody,
        response: { 201: IssuedInvitationView, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const issued = await members.invite(actorOf(request), request.body.email, request.body.role);
      return reply.code(201).send({
        invitationId: issued.invitationId,
        email: issued.email,
        role: issued.role,
        status: 'invited',
        expiresAt: issued.expiresAt.toISOString(),
        invitationToken: issued.invitationToken,
      });
    },
  );

  app.get(
    '/v1/invitations',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['members'],
        summary: "The tenant's pending invitations, oldest first (tokens are never shown again)",
        security,
        querystring: Type.Object(FixedOrderPageQuery, { additionalProperties: false }),
        response: { 200: PageOf(InvitationView), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { limit = 50, cursor } = request.query;
      const page = await members.listInvitations(actorOf(request), limit, decodeCursor(cursor, 'asc'));
      return { data: page.rows.map(invitationView), nextCursor: page.next ? encodeCursor(page.next, 'asc') : null };
    },
  );

  app.delete(
    '/v1/invitations/:id',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['members'],
        summary: 'Withdraw a pending invitation: its token stops working',
        security,
        params: IdParams,
        response: { 204: Type.Null(), ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await members.withdrawInvitation(actorOf(request), request.params.id);
      return reply.code(204).send(null);
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
    async (request) => memberView(await members.changeRole(actorOf(request), request.params.userId, request.body.role)),
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
      await members.remove(actorOf(request), request.params.userId);
      return reply.code(204).send(null);
    },
  );
};
