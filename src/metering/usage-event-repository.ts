// SQL for raw usage events. Inserting a batch is one statement that also deduplicates it:
// ON CONFLICT on (tenant_id, idempotency_key) skips keys stored before, atomically.

import type { Insertable } from 'kysely';
import type { Tx } from '../db/database.js';
import type { UsageEventsTable } from '../db/tables.js';

export type NewUsageEvent = Omit<Insertable<UsageEventsTable>, 'tenant_id'>;

/**
 * The insert of a batch (keys unique within it, at least one event), unexecuted: it returns
 * the keys that were new. One statement, so db.tenantStatement() can send it as a whole unit
 * of work in one round trip.
 */
export function insertUsageEventsQuery(tx: Tx, events: readonly NewUsageEvent[]) {
  return tx
    .insertInto('usage_events')
    .values(events as NewUsageEvent[])
    .onConflict((conflict) => conflict.columns(['tenant_id', 'idempotency_key']).doNothing())
    .returning('idempotency_key');
}

/** Inserts the events (keys unique within the batch) inside `tx` and returns the keys that were new. */
export async function insertUsageEvents(tx: Tx, events: readonly NewUsageEvent[]): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  return keysOf(await insertUsageEventsQuery(tx, events).execute());
}

/**
 * Inserts events of several tenants, each row naming its own (a service-role unit of work:
 * the API-call meter's flush), in one statement; returns the keys that were new, per tenant.
 */
export async function insertUsageEventsAcross(tx: Tx, events: readonly Insertable<UsageEventsTable>[]): Promise<Map<string, Set<string>>> {
  const stored = new Map<string, Set<string>>();
  if (events.length === 0) return stored;
  const rows = await tx
    .insertInto('usage_events')
    .values(events as Insertable<UsageEventsTable>[])
    .onConflict((conflict) => conflict.columns(['tenant_id', 'idempotency_key']).doNothing())
    .returning(['tenant_id', 'idempotency_key'])
    .execute();
  for (const row of rows) {
    let keys = stored.get(row.tenant_id);
    if (!keys) stored.set(row.tenant_id, (keys = new Set()));
    keys.add(row.idempotency_key);
  }
  return stored;
}

export function keysOf(rows: readonly { idempotency_key: string }[]): Set<string> {
  const keys = new Set<string>();
  for (const row of rows) keys.add(row.idempotency_key);
  return keys;
}
