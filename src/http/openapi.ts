// The OpenAPI document (generated from the same TypeBox schemas that validate requests),
// served at /openapi.json; docs.routes.ts serves the readable reference at /docs.

import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { access } from './access.js';
import { registerProblemResponses } from './problem-responses.js';

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  registerProblemResponses(app);
  await app.register(swagger, {
    // Shared schemas (the Problem) keep their own name under components.schemas, not def-N.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tenantry API',
        version: '0.1.0',
        description:
          'Multi-tenant SaaS backend. Errors are RFC 9457 application/problem+json. ' +
          'Authenticate with `Authorization: Bearer <access token | API key>`. Any route may answer 503 ' +
          '(`database-unavailable`, `overloaded`) with `Retry-After`: nothing was acknowledged, retry later.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'JWT access token or tnt_ API key' },
        },
      },
    },
  });
  app.get('/openapi.json', { config: { access: access.public }, schema: { hide: true } }, async () => app.swagger());
}
