// DELETE /v1/tenant: the owner soft-deletes the tenant they act in, repeating its slug.
// Its data stays until the purge job removes it after the retention period.

import { access, actorOf } from '../../http/access.js';
import { problems } from '../../http/common-schemas.js';
import type { ModuleRoutes } from '../../modules/module.js';
import type { DeletedTenant } from './delete-tenant.js';
import { DeletedTenantView, DeleteTenantBody } from './tenant-lifecycle.schemas.js';

export interface TenantLifecycleRouteDeps {
  /** Soft-deletes the tenant if `confirmation` is its slug (delete-tenant.ts, bound to the app's services). */
  readonly deleteTenant: (tenantId: string, confirmation: string) => Promise<DeletedTenant>;
}

export const tenantLifecycleRoutes: ModuleRoutes<TenantLifecycleRouteDeps> = async (app, { deleteTenant }) => {
  app.delete(
    '/v1/tenant',
    {
      config: { access: access.tenant('owner') },
      schema: {
        tags: ['tenants'],
        summary: 'Delete the current tenant (owner only; repeat its slug in `confirm`)',
        security: [{ bearer: [] }],
        body: DeleteTenantBody,
        response: { 200: DeletedTenantView, ...problems(400, 401, 403, 404, 415) },
      },
    },
    async (request) => {
      const deleted = await deleteTenant(actorOf(request).tenantId, request.body.confirm);
      request.log.warn({ tenant_id: deleted.id }, 'tenant soft-deleted');
      return {
        id: deleted.id,
        slug: deleted.slug,
        status: 'deleted' as const,
        deletedAt: deleted.deletedAt.toISOString(),
        purgeAfter: deleted.purgeAfter.toISOString(),
      };
    },
  );
};
