// Signing in as an account: login, switch-tenant, accept-invitation and /v1/me. Wrong email,
// wrong password and unknown token all answer the same 401.

import { TokenPairView } from '../auth/auth.schemas.js';
import type { Authenticator } from '../auth/authenticate.js';
import type { CredentialThrottle } from '../auth/credential-throttle.js';
import { verifyPassword } from '../auth/passwords.js';
import type { Sessions } from '../auth/sessions.js';
import { unsafeRecordAccountAudit } from '../audit/record-audit.js';
import type { Clock } from '../clock.js';
import { platformTx, type Database } from '../db/database.js';
import { access, signedInUser } from '../http/access.js';
import { problems } from '../http/common-schemas.js';
import { AppError } from '../http/problems.js';
import type { ModuleRoutes } from '../modules/module.js';
import type { InvitationAcceptance } from './members/accept-invitation.js';
import { listMembershipsOfUser, type UserMembership } from './membership-repository.js';
import { AcceptInvitationBody, LoginBody, MeView, SwitchTenantBody } from './sign-in.schemas.js';
import { findCredentialsByEmail, findUserById } from './user-repository.js';
import { userView } from './user-view.js';
import type { AccountTables } from './account-tables.js';
import { deviceOf } from './devices/device-fingerprint.js';
import { rememberDevice } from './devices/known-devices.js';

function pickMembership(memberships: UserMembership[], tenant: string): UserMembership {
  const wanted = tenant.toLowerCase();
  const found = memberships.find((m) => m.tenantId === wanted || m.slug === wanted);
  if (!found) throw new AppError('not-a-member', `not a member of tenant "${tenant}"`);
  return found;
}

export interface SignInRouteDeps {
  readonly db: Database;
  readonly sessions: Sessions;
  readonly authenticator: Authenticator;
  readonly credentialThrottle: CredentialThrottle;
  readonly invitations: InvitationAcceptance;
  readonly clock: Clock;
}

export const signInRoutes: ModuleRoutes<SignInRouteDeps> = async (app, { db, sessions, authenticator, credentialThrottle, invitations, clock }) => {
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
      credentialThrottle.admit(reply, request.ip, email);
      const user = await db.identity({ email }, findCredentialsByEmail);
      const valid = await verifyPassword(user?.status === 'active' ? user.passwordHash : null, password);
      if (!user || !valid) throw new AppError('invalid-credentials');
      const device = deviceOf(request.headers['user-agent'], request.ip);
      const { pair, newDevice } = await db.withTables<AccountTables>().identity({ userId: user.id }, async (accountTx) => {
        const tx = platformTx(accountTx);
        const memberships = await listMembershipsOfUser(tx, user.id);
        const active = tenant ? pickMembership(memberships, tenant) : memberships.length === 1 ? memberships[0] : undefined;
        const pair = await sessions.start(tx, user.id, active?.tenantId ?? null);
        return { pair, newDevice: await rememberDevice(accountTx, user.id, device.fingerprint, clock.now()) };
      });
      if (newDevice) {
        // Rare (a new browser, system or network), so the audited service path is worth it here.
        await db.service('accounts: audit a sign-in from a new device', (tx) =>
          unsafeRecordAccountAudit(tx, user.id, request.id, { action: 'user.signed_in_new_device', target: `user:${user.id}`, before: null, after: { device: device.label } }),
        );
      }
      return pair;
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
      credentialThrottle.admit(reply, request.ip);
      const principal = await authenticator.authenticate(request.headers.authorization);
      return invitations.accept({ token, principal, name, password, requestId: request.id });
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
