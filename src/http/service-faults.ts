// Faults of what the server depends on, as the 503 problems a client should retry: the
// database down, stalled or saturated, and this instance shedding load. Each carries Retry-After.

import { databaseFault } from '../db/database-fault.js';
import { AppError } from './problems.js';

/** Long enough for a database restart or failover to make progress, short enough not to idle clients. */
export const DATABASE_RETRY_AFTER_SECONDS = 2;
/** Load shedding clears as soon as the backlog drains. */
export const OVERLOAD_RETRY_AFTER_SECONDS = 1;

export function databaseUnavailable(cause?: unknown): AppError {
  return new AppError(
    'database-unavailable',
    'the database did not answer in time; try again shortly',
    { retry_after: DATABASE_RETRY_AFTER_SECONDS },
    { cause },
  );
}

export function overloaded(detail: string, cause?: unknown): AppError {
  return new AppError('overloaded', detail, { retry_after: OVERLOAD_RETRY_AFTER_SECONDS }, cause === undefined ? undefined : { cause });
}

/** The 503 problem for an error that is a database fault, or undefined for anything else. */
export function serviceFault(error: unknown): AppError | undefined {
  switch (databaseFault(error)) {
    case 'unavailable':
      return databaseUnavailable(error);
    case 'saturated':
      return overloaded('too many requests are waiting for a database connection', error);
    default:
      return undefined;
  }
}
