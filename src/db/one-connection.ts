// One unit of work, one connection: code running inside db.tenant/identity/service must not
// check out a second pooled connection, or units holding the whole pool wait for each other.

import { AsyncLocalStorage } from 'node:async_hooks';
import { TenantScopeViolation } from './tenant-scope-plugin.js';

/** The unit whose work is running; `open` turns false when it settles, so timers it started later are free. */
const currentUnit = new AsyncLocalStorage<{ open: boolean }>();

/**
 * Throws when called, directly or through anything awaited, from inside a unit of work that
 * is still running. Call it before every pool checkout.
 *
 * @example
 *   assertNoOpenUnit();
 *   const client = await pool.connect();
 */
export function assertNoOpenUnit(): void {
  if (currentUnit.getStore()?.open) throw new TenantScopeViolation('a unit of work may not open a second connection');
}

/**
 * Runs a unit's work marked as such, until the work settles.
 *
 * @example
 *   const result = await insideUnit(() => work(tx));
 */
export async function insideUnit<T>(work: () => Promise<T>): Promise<T> {
  const unit = { open: true };
  try {
    return await currentUnit.run(unit, work);
  } finally {
    unit.open = false;
  }
}
