// How long tests wait for a pooled connection. Production waits TENANTRY_DB_CONNECT_TIMEOUT_MS
// (2 s unless set) and then fails the unit of work; on a 2-core machine busy with other work,
// units queued behind a hundred others can wait longer with nothing wrong, and a test failing
// on it is noise. startTestApp passes this as TENANTRY_DB_CONNECT_TIMEOUT_MS (a test about
// checkout timeouts passes its own); pools a test makes itself go through patient().

import type pg from 'pg';

export const TEST_CHECKOUT_TIMEOUT_MS = 30_000;

/** Lets the pool's checkouts (and new connections) wait TEST_CHECKOUT_TIMEOUT_MS. */
export function patient<P extends pg.Pool>(pool: P): P {
  // pg-pool reads its options at every checkout and hands them to each new client.
  pool.options.connectionTimeoutMillis = TEST_CHECKOUT_TIMEOUT_MS;
  return pool;
}
