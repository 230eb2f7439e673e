// GET /metrics: the process's Prometheus metrics in the text exposition format, for the
// platform operator's scraper only (bearer TENANTRY_PLATFORM_ADMIN_TOKEN).

import { Type } from 'typebox';
import type { ModuleRoutes } from '../modules/module.js';
import { access } from './access.js';
import { problems } from './common-schemas.js';
import { metricsRegistry } from './metrics-registry.js';

export const metricsRoutes: ModuleRoutes<object> = async (app) => {
  app.get(
    '/metrics',
    {
      config: { access: access.platformAdmin },
      schema: {
        tags: ['platform-admin'],
        summary: 'Prometheus metrics of this instance (platform admin only)',
        security: [{ bearer: [] }],
        response: { 200: Type.String(), ...problems(401, 403) },
      },
    },
    async (_request, reply) => {
      const text = await metricsRegistry.metrics();
      return reply.type(metricsRegistry.contentType).send(text);
    },
  );
};
