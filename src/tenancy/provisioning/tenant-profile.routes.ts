// GET /v1/tenant (any member): the tenant the request acts in. PATCH /v1/tenant: its name
// (owners and admins) and subdomain (owners only).

import { access, actorOf } from '../../http/access.js';
import { problems } from '../../http/common-schemas.js';
import type { ModuleRoutes } from '../../modules/module.js';
import { TenantView, tenantView } from '../tenant-view.js';
import { UpdateTenantBody } from './tenant-profile.schemas.js';
import type { TenantProfileUpdate } from './update-tenant.js';

export interface TenantProfileRouteDeps {
  readonly tenantProfile: TenantProfileUpdate;
}

export const tenantProfileRoutes: ModuleRoutes<TenantProfileRouteDeps> = async (app, { tenantProfile }) => {
  const security = [{ bearer: [] }];

  app.get(
    '/v1/tenant',
    {
      config: { access: access.tenant('viewer') },
      schema: {
        tags: ['tenants'],
        summary: 'The tenant this request acts in',
        security,
        response: { 200: TenantView, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => tenantView(await tenantProfile.read(actorOf(request))),
  );

  app.patch(
    '/v1/tenant',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['tenants'],
        summary: "Change the tenant's name (owner or admin) or subdomain (owner only; null removes it)",
        security,
        body: UpdateTenantBody,
        response: { 200: TenantView, ...problems(400, 401, 403, 404, 409, 415) },
      },
    },
    async (request) => tenantView(await tenantProfile.update(actorOf(request), request.body)),
  );
};
