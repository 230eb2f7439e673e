// Builds the Fastify app from its modules. No listening and no environment here: main
// code calls listen(), tests call inject().

import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { membersRoutes } from './accounts/members/members.routes.js';
import { signInRoutes } from './accounts/sign-in.routes.js';
import { apiKeysRoutes } from './auth/api-keys/api-keys.routes.js';
import { authRoutes } from './auth/auth.routes.js';
import { tasksRoutes } from './domain/tasks/task-domain.routes.js';
import { registerAccess } from './http/access.js';
import { answerClientError } from './http/client-errors.js';
import { docsRoutes } from './http/docs.routes.js';
import { registerErrorHandling } from './http/error-handler.js';
import { healthRoutes } from './http/health.routes.js';
import { metricsRoutes } from './http/metrics.routes.js';
import { registerLoadShedding } from './http/load-shedding.js';
import { registerOpenApi } from './http/openapi.js';
import { registerValidation } from './http/validation.js';
import { retryAfterHeader } from './metering/retry-after.js';
import { usageMetricsRoutes } from './metering/usage-metrics.routes.js';
import { usageRoutes } from './metering/usage.routes.js';
import { adminRoutes } from './platform/admin.routes.js';
import { plansRoutes } from './plans/plans.routes.js';
import { auditRoutes } from './audit/audit.routes.js';
import { adminFlagsRoutes } from './flags/admin-flags.routes.js';
import { flagsRoutes } from './flags/flags.routes.js';
import { settingsRoutes } from './settings/settings.routes.js';
import type { Services } from './services.js';
import { tenantLifecycleRoutes } from './tenancy/lifecycle/tenant-lifecycle.routes.js';
import { tenantsRoutes } from './tenancy/provisioning/tenants.routes.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

export async function buildApp(services: Services): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: services.logger as FastifyBaseLogger,
    bodyLimit: services.config.bodyLimitBytes,
    // A caller's request id is kept when it is safe to log; otherwise we mint one.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
    // Only the named proxies' X-Forwarded-For is believed (see config.ts): request.ip is then the
    // client behind them, which the sign-in throttle counts per address.
    trustProxy: services.config.trustProxy ? [...services.config.trustProxy] : false,
    // Errors Fastify raises before routing (a path that is not valid percent-encoding, a path
    // parameter over maxParamLength) get the app's own error handler, like every other error;
    // no route means no onSend hook, so the request id is added here.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      return request.server.errorHandler(error, request, reply);
    },
    clientErrorHandler: answerClientError,
  }).withTypeProvider<TypeBoxTypeProvider>();

  registerValidation(app);
  registerErrorHandling(app);
  // Before access: a shed request costs no authentication lookup.
  await registerLoadShedding(app, services.config.maxEventLoopDelayMs);
  registerAccess(app, services);
  app.addHook('onReady', async () => services.invalidation.start());
  app.addHook('onClose', () => services.invalidation.close());
  app.addHook('onClose', () => services.readiness.close());
  await registerOpenApi(app);
  await app.register(docsRoutes);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  const options = { services };
  await app.register(healthRoutes, options);
  await app.register(metricsRoutes, options);
  await app.register(tenantsRoutes, options);
  await app.register(signInRoutes, options);
  await app.register(authRoutes, options);
  await app.register(apiKeysRoutes, options);
  await app.register(membersRoutes, options);
  await app.register(tasksRoutes, options);
  await app.register(tenantLifecycleRoutes, options);
  await app.register(adminRoutes, options);
  await app.register(usageRoutes, options);
  await app.register(usageMetricsRoutes, options);
  app.addHook('onClose', () => services.metering.close());
  app.addHook('onError', retryAfterHeader);
  await app.register(plansRoutes, options);
  await app.register(flagsRoutes, options);
  await app.register(adminFlagsRoutes, options);
  await app.register(auditRoutes, options);
  await app.register(settingsRoutes, options);
  return app;
}
