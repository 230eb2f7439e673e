// SQL for quota counters and warnings. Taking quota is one conditional upsert: the row
// lock serializes concurrent takers and the WHERE refuses the one that would pass the limit.

import { sql } from 'kysely';
import type { Tx } from '../db/database.js';

/** Adds `amount` unless that would pass `limit` (null: no limit); returns the new total, or undefined when refused. */
export async function addToCounter(
  tx: Tx,
  metric: string,
  periodStart: Date,
  amount: number,
  limit: number | null,
  now: Date,
): Promise<number | undefined> {
  if (limit !== null && amount > limit) return undefined;
  const row = await tx
    .insertInto('usage_counters')
    .values({ metric, period_start: periodStart, used: amount, created_at: now, updated_at: now })
    .onConflict((conflict) => {
      const update = conflict.columns(['tenant_id', 'metric', 'period_start']).doUpdateSet((eb) => ({
        used: eb(eb.ref('usage_counters.used'), '+', eb.ref('excluded.used')),
        updated_at: now,
      }));
      return limit === null
        ? update
        : update.where((eb) => eb(eb(eb.ref('usage_counters.used'), '+', eb.ref('excluded.used')), '<=', sql<string>`${limit}`));
    })
    .returning('used')
    .executeTakeFirst();
  return row ? Number(row.used) : undefined;
}

/** Sets a level counter (seats) to its true value; the row stays locked until commit. */
export async function setCounter(tx: Tx, metric: string, periodStart: Date, used: number, now: Date): Promise<void> {
  await tx
    .insertInto('usage_counters')
    .values({ metric, period_start: periodStart, used, created_at: now, updated_at: now })
    .onConflict((conflict) =>
      conflict.columns(['tenant_id', 'metric', 'period_start']).doUpdateSet((eb) => ({ used: eb.ref('excluded.used'), updated_at: now })),
    )
    .execute();
}

/** Locks the counter row (creating it at zero), so level checks of one tenant take turns. */
export async function lockCounter(tx: Tx, metric: string, periodStart: Date, now: Date): Promise<void> {
  await tx
    .insertInto('usage_counters')
    .values({ metric, period_start: periodStart, used: 0, created_at: now, updated_at: now })
    .onConflict((conflict) => conflict.columns(['tenant_id', 'metric', 'period_start']).doNothing())
    .execute();
  await tx
    .selectFrom('usage_counters')
    .select('used')
    .where('metric', '=', metric)
    .where('period_start', '=', periodStart)
    .forUpdate()
    .executeTakeFirst();
}

export async function counterValue(tx: Tx, metric: string, periodStart: Date): Promise<number> {
  const row = await tx
    .selectFrom('usage_counters')
    .select('used')
    .where('metric', '=', metric)
    .where('period_start', '=', periodStart)
    .executeTakeFirst();
  return row ? Number(row.used) : 0;
}

/** Records a threshold warning; false when this period already has it. */
export async function insertWarning(
  tx: Tx,
  warning: { metric: string; periodStart: Date; threshold: 80 | 100; used: number; limit: number; now: Date },
): Promise<boolean> {
  const rows = await tx
    .insertInto('usage_warnings')
    .values({
      metric: warning.metric,
      period_start: warning.periodStart,
      threshold: warning.threshold,
      used: warning.used,
      limit_value: warning.limit,
      created_at: warning.now,
    })
    .onConflict((conflict) => conflict.columns(['tenant_id', 'metric', 'period_start', 'threshold']).doNothing())
    .returning('threshold')
    .execute();
  return rows.length > 0;
}
