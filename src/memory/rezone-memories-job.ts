// A tenant job: re-scores the tenant's memories as they age and moves them between zones,
// with set-based SQL (zone-repository.ts). Tenantry runs it inside the tenant it was enqueued
// for, so its unit of work is that tenant's alone.

import { Type } from 'typebox';
import { defineTenantJob } from '../jobs/define-job.js';
import { readMemorySettings } from './memory-settings.js';
import type { MemoryTables } from './memory-tables.js';
import { rezoneMemories } from './zone-repository.js';

export const rezoneMemoriesJob = defineTenantJob({
  name: 'rezone-memories',
  payload: Type.Object({}, { additionalProperties: false }),
  handler: async (_data, { db, clock }, run) => {
    const rezoned = await db.withTables<MemoryTables>().tenant(async (tx) => rezoneMemories(tx, await readMemorySettings(tx), clock.now()));
    run.logger.info(rezoned, 'memories re-zoned');
  },
});
