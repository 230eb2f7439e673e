// GET /healthz is liveness: the process answers, whatever the database does. GET /readyz is
// readiness: 200 while the database answers within a second, else 503 problem+json.

import { Type } from 'typebox';
import type { ReadinessProbe } from '../db/readiness-probe.js';
import type { ModuleRoutes } from '../modules/module.js';
import { access } from './access.js';
import { problems } from './common-schemas.js';
import { AppError } from './problems.js';

const Ok = Type.Object({ status: Type.Literal('ok') });

export const healthRoutes: ModuleRoutes<{ readonly readiness: ReadinessProbe }> = async (app, { readiness }) => {
  app.get(
    '/healthz',
    {
      config: { access: access.public, liveness: true },
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process is up (the database is not consulted)',
        response: { 200: Ok },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { access: access.public },
      schema: {
        tags: ['health'],
        summary: 'Readiness: the database answers within a second, on a connection of its own',
        response: { 200: Ok, ...problems(503) },
      },
    },
    async () => {
      if (!(await readiness.check())) {
        throw new AppError('service-unavailable', 'the database did not answer within a second', { retry_after: 1 });
      }
      return { status: 'ok' as const };
    },
  );
};
