// POST /v1/tenants: open sign-up, in two steps so that it tells nobody who has an account.
// Asking answers 202 for every address and mails a link; POST /v1/tenants/confirm with the
// link's token and the password creates everything a new tenant needs in one transaction.

import { createHash } from 'node:crypto';
import type { CredentialThrottle } from '../../auth/credential-throttle.js';
import { access } from '../../http/access.js';
import { problems } from '../../http/common-schemas.js';
import { AppError } from '../../http/problems.js';
import type { ModuleRoutes } from '../../modules/module.js';
import { userView } from '../../accounts/user-view.js';
import { tenantView } from '../tenant-view.js';
import type { SignUpRequests } from './sign-up-requests.js';
import { ConfirmSignUpBody, CreatedTenant, CreateTenantBody, SignUpAccepted } from './tenants.schemas.js';

export interface TenantsRouteDeps {
  readonly signUps: SignUpRequests;
  readonly credentialThrottle: CredentialThrottle;
  /** Whether anyone may create a tenant (TENANTRY_OPEN_SIGNUP). */
  readonly openSignup: boolean;
}

export const tenantsRoutes: ModuleRoutes<TenantsRouteDeps> = async (app, { signUps, credentialThrottle, openSignup }) => {
  app.post(
    '/v1/tenants',
    {
      config: { access: access.public },
      schema: {
        tags: ['tenants'],
        summary: 'Ask to create a tenant: a link goes to the owner address (the answer is the same whether or not it has an account)',
        body: CreateTenantBody,
        response: { 202: SignUpAccepted, ...problems(400, 403, 409, 413, 415, 'sign-in-throttled') },
      },
    },
    async (request, reply) => {
      if (!openSignup) throw new AppError('signup-disabled');
      credentialThrottle.admit(reply, request.ip, request.body.owner.email);
      await signUps.request(request.body);
      return reply.code(202).send({ status: 'accepted' as const, detail: 'follow the link sent to the owner address, with the password, to create the tenant' });
    },
  );

  app.post(
    '/v1/tenants/confirm',
    {
      config: { access: access.public },
      schema: {
        tags: ['tenants'],
        summary: "Follow a sign-up link with the password (the one chosen, or the existing account's): creates the tenant, its owner and first API key",
        body: ConfirmSignUpBody,
        response: { 201: CreatedTenant, ...problems(400, 401, 403, 409, 413, 415, 'sign-in-throttled') },
      },
    },
    async (request, reply) => {
      if (!openSignup) throw new AppError('signup-disabled');
      // Per link as well as per address: guessing the password of one link stays slow.
      const link = createHash('sha256').update(request.body.token).digest('hex').slice(0, 32);
      credentialThrottle.admit(reply, request.ip, `signup-link:${link}`);
      const created = await signUps.confirm(request.body.token, request.body.password);
      return reply.code(201).send({
        tenant: tenantView(created.tenant),
        owner: userView(created.owner),
        apiKey: created.apiKey,
        ...created.session,
      });
    },
  );
};
