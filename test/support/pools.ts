// How long tests wait for a pooled connection. Production waits 10 s and then fails the unit
// of work; on a 2-core machine running the suite's files in parallel, units queued behind a
// thousand others can wait that long with nothing wrong, and a test failing on it is noise.
// A test about checkout timeouts sets its own.

import type pg from 'pg';

export const TEST_CHECKOUT_TIMEOUT_MS = 30_000;

/** Lets the pool's checkouts (and new connections) wait TEST_CHECKOUT_TIMEOUT_MS. */
export function patient<P extends pg.Pool>(pool: P): P {
  // pg-pool reads its options at every checkout and hands them to each new client.
  pool.options.connectionTimeoutMillis = TEST_CHECKOUT_TIMEOUT_MS;
  return pool;
}
