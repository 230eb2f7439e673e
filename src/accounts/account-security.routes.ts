// The account's own security: verifying and changing the email address, changing and
// resetting the password. The public routes are throttled like sign-in; those that could tell
// whether an address has an account (reset, change of address) answer 202 the same either way.

import type { FastifyBaseLogger } from 'fastify';
import { Type } from 'typebox';
import type { CredentialThrottle } from '../auth/credential-throttle.js';
import { access, signedInUser } from '../http/access.js';
import { problems } from '../http/common-schemas.js';
import type { ModuleRoutes } from '../modules/module.js';
import {
  AcceptedView,
  ChangeEmailBody,
  ChangePasswordBody,
  ResetConfirmBody,
  ResetRequestBody,
  TokenBody,
  VerificationStatusView,
  VerifiedView,
} from './account-security.schemas.js';
import type { EmailVerification } from './email-ownership/email-verification.js';
import type { PasswordChange } from './passwords/password-change.js';
import type { PasswordReset } from './passwords/password-reset.js';

export interface AccountSecurityRouteDeps {
  readonly credentialThrottle: CredentialThrottle;
  readonly emailVerification: EmailVerification;
  readonly passwordChange: PasswordChange;
  readonly passwordReset: PasswordReset;
}

const accepted = (detail: string) => ({ status: 'accepted' as const, detail });

/** Work that must not delay (or shape) the answer; its failure is logged without the address. */
function afterAnswer(log: FastifyBaseLogger, what: string, work: () => Promise<void>): void {
  setImmediate(() => {
    work().catch((error: unknown) => log.error({ err: error }, `${what} failed`));
  });
}

export const accountSecurityRoutes: ModuleRoutes<AccountSecurityRouteDeps> = async (
  app,
  { credentialThrottle, emailVerification, passwordChange, passwordReset },
) => {
  const security = [{ bearer: [] }];

  app.post(
    '/v1/auth/verify-email',
    {
      config: { access: access.public },
      schema: {
        tags: ['auth'],
        summary: "Follow an email verification link: proves the address (and makes it the account's, for a change)",
        body: TokenBody,
        response: { 200: VerifiedView, ...problems(400, 401, 409, 'sign-in-throttled') },
      },
    },
    async (request, reply) => {
      credentialThrottle.admit(reply, request.ip);
      const verified = await emailVerification.confirm(request.body.token, request.id);
      return { email: verified.email, verified: true as const, changed: verified.changed };
    },
  );

  app.get(
    '/v1/me/email',
    {
      config: { access: access.user },
      schema: {
        tags: ['auth'],
        summary: "The signed-in user's email address and whether it is verified",
        security,
        response: { 200: VerificationStatusView, ...problems(401, 403) },
      },
    },
    async (request) => emailVerification.status(signedInUser(request).userId),
  );

  app.post(
    '/v1/me/email/verification',
    {
      config: { access: access.user },
      schema: {
        tags: ['auth'],
        summary: 'Send a new verification link to the account address (nothing is sent when it is verified)',
        security,
        response: { 202: AcceptedView, ...problems(401, 403) },
      },
    },
    async (request, reply) => {
      await emailVerification.resend(signedInUser(request));
      return reply.code(202).send(accepted('a verification link is on its way unless the address is verified'));
    },
  );

  app.post(
    '/v1/me/email',
    {
      config: { access: access.user },
      schema: {
        tags: ['auth'],
        summary: 'Change the email address: a link goes to the new address, and the change happens when it is followed',
        security,
        body: ChangeEmailBody,
        response: { 202: AcceptedView, ...problems(400, 401, 403, 409, 'sign-in-throttled') },
      },
    },
    async (request, reply) => {
      const principal = signedInUser(request);
      credentialThrottle.admit(reply, request.ip, `user:${principal.userId}`);
      await emailVerification.requestChange(principal, request.body.email, request.body.currentPassword);
      return reply.code(202).send(accepted('follow the link sent to the new address to make the change'));
    },
  );

  app.post(
    '/v1/me/password',
    {
      config: { access: access.user },
      schema: {
        tags: ['auth'],
        summary: 'Change the password (the current one is required); every other session is signed out',
        security,
        body: ChangePasswordBody,
        response: { 204: Type.Null(), ...problems(400, 401, 403, 'sign-in-throttled') },
      },
    },
    async (request, reply) => {
      const principal = signedInUser(request);
      credentialThrottle.admit(reply, request.ip, `user:${principal.userId}`);
      await passwordChange.change(principal, request.body.currentPassword, request.body.newPassword, request.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/auth/password-reset',
    {
      config: { access: access.public },
      schema: {
        tags: ['auth'],
        summary: 'Ask for a password reset link; the answer is the same whether or not an account has the address',
        body: ResetRequestBody,
        response: { 202: AcceptedView, ...problems(400, 'sign-in-throttled') },
      },
    },
    async (request, reply) => {
      credentialThrottle.admit(reply, request.ip, request.body.email);
      const { email } = request.body;
      afterAnswer(request.log, 'password reset request', () => passwordReset.request(email));
      return reply.code(202).send(accepted('if an account has this address, a reset link is on its way'));
    },
  );

  app.post(
    '/v1/auth/password-reset/confirm',
    {
      config: { access: access.public },
      schema: {
        tags: ['auth'],
        summary: 'Set a new password with a reset link; every session of the account is signed out',
        body: ResetConfirmBody,
        response: { 204: Type.Null(), ...problems(400, 401, 'sign-in-throttled') },
      },
    },
    async (request, reply) => {
      credentialThrottle.admit(reply, request.ip);
      await passwordReset.confirm(request.body.token, request.body.newPassword, request.id);
      return reply.code(204).send(null);
    },
  );
};
