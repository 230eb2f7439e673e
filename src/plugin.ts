// Tenantry as a Fastify plugin: everything Tenantry adds to a server (validation, problem
// answers, load shedding, access control, OpenAPI, the modules' routes) lives inside this
// plugin's encapsulation context, so a host app's own routes keep their behaviour: no
// Tenantry hook, default access, error handler or validator reaches them.

import type { FastifyPluginAsync } from 'fastify';
import { registerAccess } from './http/access.js';
import { docsRoutes } from './http/docs.routes.js';
import { registerErrorHandling } from './http/error-handler.js';
import { registerLoadShedding } from './http/load-shedding.js';
import { registerOpenApi } from './http/openapi.js';
import { registerSerialization } from './http/serialization.js';
import { registerValidation } from './http/validation.js';
import { retryAfterHeader } from './metering/retry-after.js';
import type { Services } from './services.js';

export interface TenantryPluginOptions {
  /** Built with createServices(): the database, caches and the registered modules. */
  readonly services: Services;
}

/**
 * Registers Tenantry's routes (every registered module's) under the prefix the host gives.
 *
 * @example
 *   const app = Fastify({ logger: true });
 *   app.get('/', async () => 'the host app');
 *   await app.register(tenantry, { services, prefix: '/api' });
 */
export const tenantry: FastifyPluginAsync<TenantryPluginOptions> = async (app, { services }) => {
  registerValidation(app);
  registerSerialization(app);
  registerErrorHandling(app);
  // First of the hooks, so every answer carries it, a refusal (load shedding, authentication)
  // or an error's included. A callback hook: an async one costs a promise and a microtask.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  // Before access: a shed request costs no authentication lookup.
  await registerLoadShedding(app, services.config.maxEventLoopDelayMs);
  registerAccess(app, services);
  app.addHook('onReady', async () => services.invalidation.start());
  app.addHook('onClose', () => services.invalidation.close());
  app.addHook('onClose', () => services.readiness.close());
  app.addHook('onClose', () => services.metering.close());
  app.addHook('onError', retryAfterHeader);
  // Every route body gets Tenantry's limit, whatever the host's default.
  app.addHook('onRoute', (route) => {
    route.bodyLimit ??= services.config.bodyLimitBytes;
  });
  await registerOpenApi(app);
  await app.register(docsRoutes);
  for (const module of services.modules.modules) {
    await module.registerRoutes?.(app, services);
  }
};
