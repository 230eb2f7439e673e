// Sign-in and session routes: login, refresh, logout, switch-tenant, accept-invitation, /v1/me.
// Wrong email, wrong password and unknown token all answer the same 401.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AcceptInvitationBody, LoginBody, LogoutBody, MeView, RefreshBody, SwitchTenantBody, TokenPairView } from './auth.schemas.js';
import { bearerChallenge } from './authenticate.js';
import { verifyPassword } from './passwords.js';
import { findCredentialsByEmail, findUserById } from './user-repository.js';
import { access, signedInUser } from '../http/access.js';
import { problems } from '../http/common-schemas.js';
import { AppError } from '../http/problems.js';
import { listMembershipsOfUser, type UserMembership } from '../tenancy/membership-repository.js';
import { InvitationAcceptance } from '../tenancy/members/accept-invitation.js';
import { userView } from '../tenancy/tenant-view.js';
import type { Services } from '../services.js';

function pickMembership(memberships: UserMembership[], tenant: string): UserMembership {
  const wanted = tenant.toLowerCase();
  const found = memberships.find((m) => m.tenantId === wanted || m.slug === wanted);
  if (!found) throw new AppError('not-a-member', `not a member of tenant "${tenant}"`);
  return found;
}

export const authRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { db, sessions, clock } = services;
  const invitations = new InvitationAcceptance({ db, sessions, clock, resolver: services.resolver, usage: services.metering.actions });

  app.post(
    '/v1/auth/login',
    {
      config: { access: access.public },
      schema: {
        tags: ['auth'],
        summary: 'Sign in with email and password',
        body: LoginBody,
        response: { 200: TokenPairView, ...problems(400, 401, 403, 'sign-in-throttled') },
      },
    },
    async (request, reply) => {
      const { email, password, tenant } = request.body;
      services.credentialThrottle.admit(reply, request.ip, email);
      const user = await db.identity({ email }, findCredentialsByEmail);
      const valid = await verifyPassword(user?.status === 'active' ? user.passwordHash : null, password);
      if (!user || !valid) throw new AppError('invalid-credentials');
      return db.identity({ userId: user.id }, async (tx) => {
        const memberships = await listMembershipsOfUser(tx, user.id);
        const active = tenant ? pickMembership(memberships, tenant) : memberships.length === 1 ? memberships[0] : undefined;
        return sessions.start(tx, user.id, active?.tenantId ?? null);
      });
    },
  );

  app.post(
    '/v1/auth/refresh',
    {
      config: { access: access.public },
      schema: {
        tags: ['auth'],
        summary: 'Exchange a refresh token for a new token pair (the old one is retired)',
        body: RefreshBody,
        response: { 200: TokenPairView, ...problems(400, 401, 'sign-in-throttled') },
      },
    },
    async (request, reply) => {
      services.credentialThrottle.admit(reply, request.ip);
      return sessions.refresh(request.body.refreshToken);
    },
  );

  app.post(
    '/v1/auth/logout',
    {
      config: { access: access.public },
      schema: {
        tags: ['auth'],
        summary: 'End the session of the bearer token and/or of a refresh token',
        description: 'An API key is no session: logout with one answers 403 forbidden and the key keeps working; revoke it with DELETE /v1/api-keys/{id}.',
        body: LogoutBody,
        response: { 204: Type.Null(), ...problems(400, 401, 403) },
      },
      // A bearer-only logout sends no body at all. Type.Optional() does not make a whole
      // body optional (an absent body fails `type: object`), so an absent one reads as {}.
      preValidation: async (request) => {
        (request as { body: unknown }).body ??= {};
      },
    },
    async (request, reply) => {
      const refreshToken = request.body.refreshToken;
      const principal = await services.authenticator.authenticate(request.headers.authorization).catch((error: unknown) => {
        if (error instanceof AppError && error.status === 401) reply.header('WWW-Authenticate', bearerChallenge(error));
        throw error;
      });
      if (!principal && !refreshToken) throw new AppError('unauthenticated', 'send a bearer token or a refresh token');
      // An API key has no session to end: a 204 here would let the client believe the key is dead.
      if (principal?.kind === 'api_key') {
        throw new AppError('forbidden', 'an API key is not a session and is not ended by logout; revoke it with DELETE /v1/api-keys/{id}');
      }
      if (principal?.kind === 'user') await sessions.revoke(principal.userId, principal.sessionFamilyId);
      if (refreshToken) await sessions.revokeByRefreshToken(refreshToken);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/auth/switch-tenant',
    {
      config: { access: access.user },
      schema: {
        tags: ['auth'],
        summary: 'Get tokens for another tenant the user belongs to',
        security: [{ bearer: [] }],
        body: SwitchTenantBody,
        response: { 200: TokenPairView, ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const principal = signedInUser(request);
      const memberships = await db.identity({ userId: principal.userId }, (tx) => listMembershipsOfUser(tx, principal.userId));
      const target = pickMembership(memberships, request.body.tenant);
      return sessions.switchTenant(principal.userId, principal.sessionFamilyId, target.tenantId);
    },
  );

  app.post(
    '/v1/auth/accept-invitation',
    {
      config: { access: access.public },
      schema: {
        tags: ['auth'],
        summary: 'Accept an invitation: signed in as the invited email, or create the account; get tokens for its tenant',
        description:
          'With a user access token: the signed-in account must have the invited email. Without one: no account may have ' +
          'that email yet (else 401: sign in and accept with your access token), and name and password create it.',
        security: [{}, { bearer: [] }],
        body: AcceptInvitationBody,
        response: { 200: TokenPairView, ...problems(400, 401, 403, 409, 'sign-in-throttled') },
      },
    },
    async (request, reply) => {
      const { token, name, password } = request.body;
      services.credentialThrottle.admit(reply, request.ip);
      const principal = await services.authenticator.authenticate(request.headers.authorization);
      return invitations.accept({ token, principal, name, password });
    },
  );

  app.get(
    '/v1/me',
    {
      config: { access: access.user },
      schema: {
        tags: ['auth'],
        summary: 'The signed-in user and every tenant they belong to',
        security: [{ bearer: [] }],
        response: { 200: MeView, ...problems(401, 403) },
      },
    },
    async (request) => {
      const principal = signedInUser(request);
      return db.identity({ userId: principal.userId }, async (tx) => {
        const user = await findUserById(tx, principal.userId);
        if (!user) throw new AppError('invalid-credentials');
        const memberships = await listMembershipsOfUser(tx, user.id);
        return { user: userView(user), activeTenantId: principal.claimedTenantId ?? null, memberships };
      });
    },
  );
};
