// Session routes: refresh and logout. Credentials only; signing in as an account (login,
// switch-tenant, accepting an invitation) is accounts/sign-in.routes.ts.

import { Type } from 'typebox';
import { LogoutBody, RefreshBody, TokenPairView } from './auth.schemas.js';
import { bearerChallenge, type Authenticator } from './authenticate.js';
import type { CredentialThrottle } from './credential-throttle.js';
import type { Sessions } from './sessions.js';
import { access } from '../http/access.js';
import { problems } from '../http/common-schemas.js';
import { AppError } from '../http/problems.js';
import type { ModuleRoutes } from '../modules/module.js';

export interface AuthRouteDeps {
  readonly sessions: Sessions;
  readonly authenticator: Authenticator;
  readonly credentialThrottle: CredentialThrottle;
}

export const authRoutes: ModuleRoutes<AuthRouteDeps> = async (app, { sessions, authenticator, credentialThrottle }) => {
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
      credentialThrottle.admit(reply, request.ip);
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
      const principal = await authenticator.authenticate(request.headers.authorization).catch((error: unknown) => {
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
};
