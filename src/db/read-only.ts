// A suspended tenant is read-only, and PostgreSQL is what refuses its writes: its units of work
// run READ ONLY (db/database.ts, migration 0013). This turns that refusal into the answer the
// tenant needs: which state it is in and how to get out of it.

import { AppError } from '../http/problems.js';

/** SQLSTATE read_only_sql_transaction: a write in a READ ONLY transaction. */
const READ_ONLY_TRANSACTION = '25006';

/**
 * The problem a write refused by a read-only unit stands for; undefined for any other error.
 * Only tenant units are ever read-only, and only for a suspended tenant.
 */
export function readOnlyRefusal(error: unknown): AppError | undefined {
  if ((error as { code?: unknown } | null)?.code !== READ_ONLY_TRANSACTION) return undefined;
  return new AppError(
    'tenant-read-only',
    'this tenant is suspended and read-only: reads and billing keep working, writes resume once what is due is paid (GET /v1/billing shows it) or the platform operator reactivates the tenant',
    { tenant_status: 'suspended', billing: '/v1/billing' },
    { cause: error },
  );
}
