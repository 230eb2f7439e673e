// The adopter's own Fastify app: its routes keep Fastify's behaviour (no Tenantry access
// control, validation or error format reaches them), and Tenantry lives under /api.

import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { tenantry, type Services } from 'tenantry';

export async function buildInvoicesApp(services: Services): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: services.logger as FastifyBaseLogger });
  app.get('/', async () => ({ app: 'invoices', api: '/api/docs' }));
  // A host route with Fastify's own validation and error answers.
  app.post(
    '/echo',
    { schema: { body: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } } },
    async (request) => request.body,
  );
  await app.register(tenantry, { services, prefix: '/api' });
  return app;
}
