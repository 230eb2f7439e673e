// Sheds load before requests queue for seconds: while the event loop lags past the configured
// delay, requests get 503 overloaded (problem+json, Retry-After) at once. Liveness still answers.

import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import { overloaded, OVERLOAD_RETRY_AFTER_SECONDS } from './service-faults.js';

/** Routes that must answer however loaded the process is: a liveness probe that failed would restart it. */
export const NEVER_SHED: ReadonlySet<string> = new Set(['/healthz']);

export async function registerLoadShedding(app: FastifyInstance, maxEventLoopDelayMs: number): Promise<void> {
  // With every threshold at 0 the plugin adds no hook at all.
  await app.register(underPressure, {
    maxEventLoopDelay: maxEventLoopDelayMs,
    retryAfter: OVERLOAD_RETRY_AFTER_SECONDS,
    // Thrown, so the error handler answers with our problem+json rather than the plugin's own body.
    pressureHandler: async (request) => {
      if (NEVER_SHED.has(request.routeOptions.url ?? '')) return;
      throw overloaded('this instance is shedding load; try again shortly');
    },
  });
}
