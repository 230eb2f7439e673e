// Sheds load before requests queue for seconds: while the event loop lags past the configured
// delay, requests get 503 overloaded (problem+json, Retry-After) at once. Liveness still answers.

import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import { overloaded, OVERLOAD_RETRY_AFTER_SECONDS } from './service-faults.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A liveness probe: answers however loaded the process is (one that failed would get the
     * process restarted) and never consults the database. Declared on the route, so it holds
     * under whatever prefix Tenantry is mounted.
     */
    liveness?: boolean;
  }
}

export async function registerLoadShedding(app: FastifyInstance, maxEventLoopDelayMs: number): Promise<void> {
  // With every threshold at 0 the plugin adds no hook at all.
  await app.register(underPressure, {
    maxEventLoopDelay: maxEventLoopDelayMs,
    retryAfter: OVERLOAD_RETRY_AFTER_SECONDS,
    // Thrown, so the error handler answers with our problem+json rather than the plugin's own body.
    pressureHandler: async (request) => {
      if (request.routeOptions.config.liveness) return;
      throw overloaded('this instance is shedding load; try again shortly');
    },
  });
}
