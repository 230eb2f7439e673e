// A tenant job: re-scores the tenant's memories as they age and moves them between zones,
// with set-based SQL (zone-repository.ts). Tenantry runs it inside the tenant it was enqueued
// for, so its unit of work is that tenant's alone. Moves are announced on the tenant's
// `memories` channel in the same unit (they happen or are announced together, or neither).

import { Type } from 'typebox';
import { platformTx } from '../db/database.js';
import { defineTenantJob } from '../jobs/define-job.js';
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
