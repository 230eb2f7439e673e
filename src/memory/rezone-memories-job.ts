// A tenant job: re-scores the tenant's memories as they age and moves them between zones,
// with set-based SQL (zone-repository.ts). Tenantry runs it inside the tenant it was enqueued
// for, so its unit of work is that tenant's alone. Moves are announced on the tenant's
// `memories` channel in the same unit (they happen or are announced together, or neither).
// Every hour a service job queues it for each tenant that holds memories, so memories drift
// outward as they age without anyone asking; POST /v1/memories/rezone queues it at once.

import { Type } from 'typebox';
import { platformTx } from '../db/database.js';
import { defineServiceJob, defineTenantJob } from '../jobs/define-job.js';
import type { JobSchedule } from '../jobs/jobs.js';
import { publishRealtimeEvent } from '../realtime/realtime-event.js';
import { readMemorySettings } from './memory-settings.js';
import type { MemoryTables } from './memory-tables.js';
import { rezoneMemories } from './zone-repository.js';

export const rezoneMemoriesJob = defineTenantJob({
  name: 'rezone-memories',
  payload: Type.Object({}, { additionalProperties: false }),
  handler: async (_data, { db, clock }, run) => {
    const rezoned = await db.withTables<MemoryTables>().tenant(async (tx) => {
      const result = await rezoneMemories(tx, await readMemorySettings(tx), clock.now());
      if (result.moved > 0) {
        await publishRealtimeEvent(platformTx(tx), run.tenantId!, { channel: 'memories', type: 'memories.rezoned', data: { moved: result.moved } });
      }
      return result;
    });
    run.logger.info(rezoned, 'memories re-zoned');
  },
});

/**
 * Queues the re-zoning of every live tenant that holds memories, in one service unit (the
 * queued jobs are outbox rows: all or none). A suspended tenant is read-only, so it is skipped
 * until it is active again.
 */
export const rezoneEveryTenantJob = defineServiceJob({
  name: 'rezone-memories-every-tenant',
  payload: Type.Object({}, { additionalProperties: false }),
  handler: async (_data, { db, jobs }, run) => {
    const queued = await db.withTables<MemoryTables>().service('memory: queue the hourly re-zoning of each tenant with memories', async (tx) => {
      const tenants = await tx
        .selectFrom('tenants as t')
        .select('t.id')
        .where('t.deleted_at', 'is', null)
        .where('t.status', 'in', ['active', 'past_due'])
        .where(({ exists, selectFrom }) =>
          exists(selectFrom('memories as m').select('m.id').whereRef('m.tenant_id', '=', 't.id').where('m.deleted_at', 'is', null)),
        )
        .execute();
      for (const { id } of tenants) await jobs.enqueue(platformTx(tx), id, rezoneMemoriesJob, {});
      return tenants.length;
    });
    run.logger.info({ tenants: queued }, 're-zoning queued');
  },
});

export const rezoneEveryTenantSchedule: JobSchedule = { job: rezoneEveryTenantJob, cron: '23 * * * *' };
