// SQL for raw usage events. Inserting a batch is one statement that also deduplicates it:
// ON CONFLICT on (tenant_id, idempotency_key) skips keys stored before, atomically. The rows
// travel as one array per column, read back by `unnest`: a statement of a few parameters
// whatever the batch's size, where VALUES would bind (and the query builder build, and
// PostgreSQL plan) five parameters per row.

import { sql } from 'kysely';
import type { Tx } from '../db/database.js';

/** A batch as columns: the n-th entry of every array is the n-th event. */
export interface UsageEventColumns {
  readonly idempotency_key: string[];
  readonly metric: string[];
  readonly quantity: number[];
  /** ISO text: the driver would format a Date itself, in JavaScript, at several times the cost. */
  readonly occurred_at: string[];
  /** Left out when null in every row (the column's default is the same NULL). */
  readonly unique_value?: (string | null)[];
  /** JSON text; left out like unique_value. */
  readonly properties?: (string | null)[];
}

const COLUMN_TYPES = {
  idempotency_key: 'text',
  metric: 'text',
  quantity: 'numeric',
  occurred_at: 'timestamptz',
  unique_value: 'text',
  properties: 'jsonb',
} as const;

type Column = keyof typeof COLUMN_TYPES;

/** `SELECT unnest($1::text[]) AS idempotency_key, ...`: the columns present, zipped row by row. */
function unnested(tx: Tx, columns: Partial<Record<Column, readonly unknown[]>>) {
  const names = (Object.keys(COLUMN_TYPES) as Column[]).filter((name) => columns[name] !== undefined);
  const select = tx.selectNoFrom(names.map((name) => sql`unnest(${columns[name]}::${sql.raw(COLUMN_TYPES[name])}[])`.as(name)));
  return { names, select };
}

/**
 * The insert of a batch (keys unique within it, at least one event), unexecuted: it returns
 * the keys that were new. One statement, so db.tenantStatement() can send it as a whole unit
 * of work in one round trip; the tenant filter adds the tenant to what it selects.
 */
export function insertUsageEventsQuery(tx: Tx, events: UsageEventColumns) {
  const { names, select } = unnested(tx, events);
  return tx
    .insertInto('usage_events')
    .columns(names)
    .expression(select)
    .onConflict((conflict) => conflict.columns(['tenant_id', 'idempotency_key']).doNothing())
    .returning('idempotency_key');
}

/** Inserts the events (keys unique within the batch) inside `tx` and returns the keys that were new. */
export async function insertUsageEvents(tx: Tx, events: UsageEventColumns): Promise<Set<string>> {
  if (events.idempotency_key.length === 0) return new Set();
  return keysOf(await insertUsageEventsQuery(tx, events).execute());
}

export function keysOf(rows: readonly { idempotency_key: string }[]): Set<string> {
  const keys = new Set<string>();
  for (const row of rows) keys.add(row.idempotency_key);
  return keys;
}
