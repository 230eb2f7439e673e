// The metric catalog over HTTP: any member reads it; the platform operator adds metrics
// (through the audited service role). Metrics are never removed: stored events name them.

import { Type, type Static } from 'typebox';
import { isUniqueViolation } from '../db/constraint-violation.js';
import type { Database } from '../db/database.js';
import { access } from '../http/access.js';
import { problems, Text } from '../http/common-schemas.js';
import { AppError } from '../http/problems.js';
import type { ModuleRoutes } from '../modules/module.js';
import type { Metric, MetricCatalog } from './metric-catalog.js';

const Aggregation = Type.Union([Type.Literal('sum'), Type.Literal('count'), Type.Literal('max'), Type.Literal('unique_count')]);

const MetricView = Type.Object({
  key: Type.String(),
  unit: Type.String(),
  aggregation: Aggregation,
  uniqueBy: Type.Union([Type.String(), Type.Null()]),
  resets: Type.Boolean(),
  enforcement: Type.Union([Type.Literal('hard'), Type.Literal('soft')]),
  description: Type.String(),
});

const NewMetric = Type.Object(
  {
    key: Type.String({ pattern: '^[a-z][a-z0-9_]{1,62}$' }),
    unit: Text({ minLength: 1, maxLength: 50 }),
    aggregation: Aggregation,
    uniqueBy: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$', description: 'Required for unique_count' })),
    resets: Type.Optional(Type.Boolean({ description: 'Whether its quota resets each billing period (default true)' })),
    enforcement: Type.Optional(Type.Union([Type.Literal('hard'), Type.Literal('soft')])),
    description: Type.Optional(Text({ maxLength: 500 })),
  },
  { additionalProperties: false },
);

function view(metric: Metric): Static<typeof MetricView> {
  return { ...metric };
}

export interface UsageMetricsRouteDeps {
  readonly db: Database;
  readonly catalog: MetricCatalog;
}

export const usageMetricsRoutes: ModuleRoutes<UsageMetricsRouteDeps> = async (app, { db, catalog }) => {
  const security = [{ bearer: [] }];

  app.get(
    '/v1/usage/metrics',
    {
      config: { access: access.tenant('viewer') },
      schema: { tags: ['usage'], summary: 'The metric catalog (viewer or higher)', security, response: { 200: Type.Object({ data: Type.Array(MetricView) }), ...problems(401, 403) } },
    },
    async () => ({ data: [...(await catalog.all()).values()].map(view) }),
  );

  app.post(
    '/v1/admin/usage-metrics',
    {
      config: { access: access.platformAdmin },
      schema: {
        tags: ['platform-admin'],
        summary: 'Add a metric to the catalog (platform admin only)',
        security,
        body: NewMetric,
        response: { 201: MetricView, ...problems(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if ((body.aggregation === 'unique_count') !== (body.uniqueBy !== undefined)) {
        throw new AppError('validation-failed', 'uniqueBy is required for unique_count and only for it', { field: 'body.uniqueBy' });
      }
      await db
        .service('define a usage metric', (tx) =>
          tx
            .insertInto('usage_metrics')
            .values({
              key: body.key,
              unit: body.unit,
              aggregation: body.aggregation,
              unique_by: body.uniqueBy ?? null,
              resets: body.resets ?? true,
              enforcement: body.enforcement ?? 'soft',
              description: body.description ?? '',
            })
            .execute(),
        )
        .catch((error: unknown) => {
          if (isUniqueViolation(error)) throw new AppError('conflict', 'a metric with this key exists', { field: 'key' });
          throw error;
        });
      catalog.invalidate();
      const metric = await catalog.find(body.key);
      return reply.code(201).send(view(metric!));
    },
  );
};
