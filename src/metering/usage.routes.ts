// /v1/usage: send usage events in batches (members, or API keys with metering:write) and
// read the tenant's usage per metric against its plan's limits (any member).

import type { Clock } from '../clock.js';
import { access, actorOf } from '../http/access.js';
import { problems } from '../http/common-schemas.js';
import { AppError } from '../http/problems.js';
import type { ModuleRoutes } from '../modules/module.js';
import { assertMayRecordUsage } from './metering-scope.js';
import type { UsageReader } from './usage-report.js';
import type { UsageRecorder } from './usage-recorder.js';
import { IngestBody, IngestResponse, MAX_EVENTS_PER_BATCH, UsageQuery, UsageReportView } from './usage.schemas.js';

const MAX_POINTS = { hour: 24 * 62, day: 732 } as const;

export interface UsageRouteDeps {
  readonly clock: Clock;
  readonly recorder: UsageRecorder;
  readonly reader: UsageReader;
}

export const usageRoutes: ModuleRoutes<UsageRouteDeps> = async (app, { clock, recorder, reader }) => {
  const tags = ['usage'];
  const security = [{ bearer: [] }];

  app.post(
    '/v1/usage/events',
    {
      config: { access: access.tenant('viewer') },
      schema: {
        tags,
        summary: `Record up to ${MAX_EVENTS_PER_BATCH} usage events (member or higher, or an API key with metering:write)`,
        description:
          'Each event names a catalog metric, a quantity and an idempotency key unique per tenant. A key seen before ' +
          '(in an earlier batch or earlier in this one) is reported under duplicates and not counted again. Events ' +
          'more than 5 minutes in the future, older than the grace window before the open billing period, or naming ' +
          'an unknown metric are rejected one by one with a reason; the rest of the batch is stored.',
        security,
        body: IngestBody,
        response: { 200: IngestResponse, ...problems(400, 401, 403, 413, 429) },
      },
    },
    async (request) => {
      assertMayRecordUsage(request);
      return recorder.record(actorOf(request), request.body.events);
    },
  );

  app.get(
    '/v1/usage',
    {
      config: { access: access.tenant('viewer') },
      schema: {
        tags,
        summary: "The tenant's usage per metric: total, plan limit, percent used and a series (viewer or higher)",
        description:
          'Without from/to: the open billing period with a daily series. With them: that range, by hour or day. ' +
          'Rollups run every minute, so the last minute of usage may not show yet.',
        security,
        querystring: UsageQuery,
        response: { 200: UsageReportView, ...problems(400, 401, 403, 429) },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const { from, to, granularity } = request.query;
      if (from === undefined && to === undefined && granularity === undefined) return reader.current(actor);
      const end = to ? new Date(to) : clock.now();
      const start = from ? new Date(from) : new Date(end.getTime() - 30 * 86_400_000);
      const step = granularity ?? 'day';
      if (start >= end) throw new AppError('validation-failed', 'from must be before to', { field: 'querystring.from' });
      if ((end.getTime() - start.getTime()) / (step === 'hour' ? 3_600_000 : 86_400_000) > MAX_POINTS[step]) {
        throw new AppError('validation-failed', `at most ${MAX_POINTS[step]} ${step}s per request`, { field: 'querystring.to' });
      }
      return reader.history(actor, start, end, step);
    },
  );
};
