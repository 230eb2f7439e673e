// POST /v1/admin/tenants/:id/restore: the platform operator brings back a soft-deleted tenant
// before its purge, naming why. Beside the other operator routes under /v1/admin/tenants.

import { Type } from 'typebox';
import { access, platformOperatorOf } from '../../http/access.js';
import { IdParams, problems, Text } from '../../http/common-schemas.js';
import type { ModuleRoutes } from '../../modules/module.js';
import { TenantView, tenantView } from '../tenant-view.js';
import { restoreTenant, type RestoreTenantDeps } from './restore-tenant.js';

const RestoreBody = Type.Object({ reason: Text({ minLength: 3, maxLength: 500, nonBlank: true, description: 'Why; kept in the audit log' }) }, { additionalProperties: false });

export interface RestoreRouteDeps {
  readonly restore: RestoreTenantDeps;
}

export const restoreRoutes: ModuleRoutes<RestoreRouteDeps> = async (app, { restore }) => {
  app.post(
    '/v1/admin/tenants/:id/restore',
    {
      config: { access: access.platformAdmin },
      schema: {
        tags: ['platform-admin'],
        summary: 'Restore a soft-deleted tenant before its purge, with its data (platform admin only)',
        security: [{ bearer: [] }],
        params: IdParams,
        body: RestoreBody,
        response: { 200: TenantView, ...problems(400, 401, 403, 404, 409, 415) },
      },
    },
    async (request) => {
      const restored = await restoreTenant(restore, platformOperatorOf(request), request.params.id, request.body.reason);
      request.log.warn({ tenant_id: restored.id }, 'tenant restored by the platform operator');
      return tenantView(restored);
    },
  );
};
