// GET /healthz: 200 while the database answers, 503 problem+json when it does not.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import { access } from './access.js';
import { problems } from './common-schemas.js';
import { AppError } from './problems.js';

export const healthRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/healthz',
    {
      config: { access: access.public },
      schema: {
        tags: ['health'],
        summary: 'Liveness and database reachability',
        response: { 200: Type.Object({ status: Type.Literal('ok') }), ...problems(503) },
      },
    },
    async () => {
      if (!(await services.db.healthy())) throw new AppError('service-unavailable', 'the database is not reachable');
      return { status: 'ok' as const };
    },
  );
};
