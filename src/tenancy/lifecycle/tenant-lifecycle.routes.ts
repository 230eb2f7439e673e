// DELETE /v1/tenant: the owner soft-deletes the tenant they act in, repeating its slug.
// Its data stays until the purge job removes it after the retention period.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { access, actorOf } from '../../http/access.js';
import { problems } from '../../http/common-schemas.js';
import type { Services } from '../../services.js';
import { softDeleteTenant } from './delete-tenant.js';
import { DeletedTenantView, DeleteTenantBody } from './tenant-lifecycle.schemas.js';

export const tenantLifecycleRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
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
      const deleted = await softDeleteTenant(
        services.db,
        services.clock,
        services.invalidation,
        services.config.purgeRetentionDays,
        services.modules.tenantTables,
        actorOf(request).tenantId,
        request.body.confirm,
      );
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
