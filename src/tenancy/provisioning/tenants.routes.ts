// POST /v1/tenants: open sign-up. Creates everything a new tenant needs in one transaction.

import type { CredentialThrottle } from '../../auth/credential-throttle.js';
import { access } from '../../http/access.js';
import { problems } from '../../http/common-schemas.js';
import { AppError } from '../../http/problems.js';
import type { ModuleRoutes } from '../../modules/module.js';
import { userView } from '../../accounts/user-view.js';
import { tenantView } from '../tenant-view.js';
import type { TenantProvisioning } from './provision-tenant.js';
import { CreatedTenant, CreateTenantBody } from './tenants.schemas.js';

export interface TenantsRouteDeps {
  readonly provisioning: TenantProvisioning;
  readonly credentialThrottle: CredentialThrottle;
  /** Whether anyone may create a tenant (TENANTRY_OPEN_SIGNUP). */
  readonly openSignup: boolean;
}

export const tenantsRoutes: ModuleRoutes<TenantsRouteDeps> = async (app, { provisioning, credentialThrottle, openSignup }) => {
  app.post(
    '/v1/tenants',
    {
      config: { access: access.public },
      schema: {
        tags: ['tenants'],
        summary: 'Create a tenant with its owner and first API key',
        body: CreateTenantBody,
        response: { 201: CreatedTenant, ...problems(400, 401, 403, 409, 413, 415, 'sign-in-throttled') },
      },
    },
    async (request, reply) => {
      if (!openSignup) throw new AppError('signup-disabled');
      credentialThrottle.admit(reply, request.ip, request.body.owner.email);
      const created = await provisioning.provision(request.body);
      return reply.code(201).send({
        tenant: tenantView(created.tenant),
        owner: userView(created.owner),
        apiKey: created.apiKey,
        ...created.session,
      });
    },
  );
};
