// POST /v1/tenants: open sign-up. Creates everything a new tenant needs in one transaction.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Services } from '../../services.js';
import { access } from '../../http/access.js';
import { problems } from '../../http/common-schemas.js';
import { AppError } from '../../http/problems.js';
import { userView } from '../../accounts/user-view.js';
import { tenantView } from '../tenant-view.js';
import { TenantProvisioning } from './provision-tenant.js';
import { CreatedTenant, CreateTenantBody } from './tenants.schemas.js';

export const tenantsRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const provisioning = new TenantProvisioning(services.db, services.sessions);

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
      if (!services.config.openSignup) throw new AppError('signup-disabled');
      services.credentialThrottle.admit(reply, request.ip, request.body.owner.email);
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
