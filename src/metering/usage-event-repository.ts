// SQL for raw usage events. Inserting a batch is one statement that also deduplicates it:
// ON CONFLICT on (tenant_id, idempotency_key) skips keys stored before, atomically.

import type { Insertable } from 'kysely';
import type { Tx } from '../db/database.js';
import type { UsageEventsTable } from '../db/tables.js';

export type NewUsageEvent = Omit<Insertable<UsageEventsTable>, 'tenant_id'>;

/** Inserts the events (keys unique within the batch) and returns the keys that were new. */
export async function insertUsageEvents(tx: Tx, events: readonly NewUsageEvent[]): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const rows = await tx
    .insertInto('usage_events')
    .values(events as NewUsageEvent[])
    .onConflict((conflict) => conflict.columns(['tenant_id', 'idempotency_key']).doNothing())
    .returning('idempotency_key')
    .execute();
  return new Set(rows.map((row) => row.idempotency_key));
}
