// The standalone app: Fastify with the server-wide options Tenantry wants, and Tenantry's
// plugin (src/plugin.ts) at the root. No listening and no environment here: main code calls
// listen(), tests call inject().

import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { answerClientError } from './http/client-errors.js';
import { answerProblem } from './http/error-handler.js';
import { tenantry } from './plugin.js';
import type { Services } from './services.js';

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
    // parameter over maxParamLength) get the same problem answers as every other error; no
    // route means no onSend hook, so the request id is added here.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      return answerProblem(error, request, reply);
    },
    clientErrorHandler: answerClientError,
  }).withTypeProvider<TypeBoxTypeProvider>();
  await app.register(tenantry, { services });
  return app;
}
