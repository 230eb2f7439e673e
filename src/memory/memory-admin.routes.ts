// /v1/memories/stats, /v1/memories/rezone and /v1/memory-settings: figures about the tenant's
// memories, re-zoning on demand, and the recall weights. Viewers read; admins change.

import { access, actorOf } from '../http/access.js';
import type { Jobs } from '../jobs/jobs.js';
import type { ModuleRoutes } from '../modules/module.js';
import type { MemoryStats } from './memory-stats.js';
import type { MemorySettingsManagement } from './memory-settings.js';
import type { MemoryDatabase } from './memory-tables.js';
import { MemorySettingsPatchBody, MemorySettingsView, RezoneAccepted, StatsAnswer } from './memories.schemas.js';
import { rezoneMemoriesJob } from './rezone-memories-job.js';

export interface MemoryAdminRouteDeps {
  readonly db: MemoryDatabase;
  readonly jobs: Jobs;
  readonly stats: MemoryStats;
  readonly settings: MemorySettingsManagement;
}

export const memoryAdminRoutes: ModuleRoutes<MemoryAdminRouteDeps> = async (app, { db, jobs, stats, settings }) => {
  app.get(
    '/v1/memories/stats',
    {
      config: { access: access.tenant('viewer', { agents: true }) },
      schema: {
        tags: ['memory'],
        summary: 'Counts per zone and agent, totals, the quota used, average importance, the most recalled',
        security: [{ bearer: [] }],
        response: { 200: StatsAnswer },
      },
    },
    async (request) => stats.stats(actorOf(request)),
  );

  app.post(
    '/v1/memories/rezone',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['memory'],
        summary: "Queue the job that re-scores this tenant's memories and moves them between zones",
        security: [{ bearer: [] }],
        response: { 202: RezoneAccepted },
      },
    },
    async (request, reply) => {
      // In the request's unit of work: the job is queued once it commits (through the outbox).
      const { tenantId } = actorOf(request);
      await db.tenant((tx) => jobs.enqueue(tx, tenantId, rezoneMemoriesJob, {}));
      return reply.code(202).send({ status: 'queued' as const });
    },
  );

  app.get(
    '/v1/memory-settings',
    {
      config: { access: access.tenant('viewer') },
      schema: { tags: ['memory'], summary: 'The recall weights, recency half-life and duplicate threshold', security: [{ bearer: [] }], response: { 200: MemorySettingsView } },
    },
    async (request) => settings.get(actorOf(request)),
  );

  app.patch(
    '/v1/memory-settings',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['memory'],
        summary: 'Change recall weights, the recency half-life or the duplicate threshold; the rest are kept',
        security: [{ bearer: [] }],
        body: MemorySettingsPatchBody,
        response: { 200: MemorySettingsView },
      },
    },
    async (request) => settings.update(actorOf(request), request.body),
  );
};
