// Billing periods: monthly, anchored to the tenant's subscription start, tenants.billing_anchor
// (its creation until billing sets it: migration 0013); this file is the one place that reads it.

import type { Tx } from '../db/database.js';
import { startOfHour } from '../clock.js';

export interface BillingPeriod {
  readonly start: Date;
  /** Exclusive. */
  readonly end: Date;
}

/** Stands for "no period" (the epoch) on counters of metrics that never reset (seats). */
export const NO_PERIOD_START = new Date(0);

/** Month `offset` after the anchor, the day clamped to the month's end (Jan 31 -> Feb 28). */
function monthsAfter(anchor: Date, offset: number): Date {
  const year = anchor.getUTCFullYear();
  const month = anchor.getUTCMonth() + offset;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(Date.UTC(year, month, Math.min(anchor.getUTCDate(), lastDay), anchor.getUTCHours()));
}

/**
 * The period containing `at`. The anchor is truncated to its hour, so whole hourly rollup
 * buckets tile every period and period totals can be read from them exactly.
 *
 * @example
 *   billingPeriod(new Date('2026-01-31T10:20:00Z'), new Date('2026-03-01T00:00:00Z'))
 *   // { start: 2026-02-28T10:00Z, end: 2026-03-31T10:00Z }
 */
export function billingPeriod(anchor: Date, at: Date): BillingPeriod {
  const hourAnchor = startOfHour(anchor);
  let offset = (at.getUTCFullYear() - hourAnchor.getUTCFullYear()) * 12 + (at.getUTCMonth() - hourAnchor.getUTCMonth());
  while (monthsAfter(hourAnchor, offset) > at) offset -= 1;
  while (monthsAfter(hourAnchor, offset + 1) <= at) offset += 1;
  return { start: monthsAfter(hourAnchor, offset), end: monthsAfter(hourAnchor, offset + 1) };
}

/** The query of a tenant's billing anchor, unexecuted (db.tenantStatement() can send it alone). */
export function billingAnchorQuery(tx: Tx, tenantId: string) {
  return tx.selectFrom('tenants').select('billing_anchor').where('id', '=', tenantId);
}

/** A tenant's billing anchor: its subscription's start. */
export async function billingAnchor(tx: Tx, tenantId: string): Promise<Date> {
  return (await billingAnchorQuery(tx, tenantId).executeTakeFirstOrThrow()).billing_anchor;
}
