// Tells a database that is down, restarting, stalled or saturated apart from a bug: such
// failures are the client's cue to retry later (HTTP 503), never an internal error (500).

/** 'unavailable': the database failed or did not answer in time; 'saturated': too many units wait for a connection. */
export type DatabaseFault = 'unavailable' | 'saturated';

/** Refused at once because too many units of work already wait for a pooled connection. */
export class DatabaseSaturatedError extends Error {
  override name = 'DatabaseSaturatedError';
}

/** A unit of work held its connection past the transaction bound; the connection was destroyed. */
export class TransactionTimeoutError extends Error {
  override name = 'TransactionTimeoutError';
}

// SQLSTATEs that mean "the server cannot serve this now", not "this request is wrong".
const UNAVAILABLE_SQLSTATES = new Set([
  '57014', // query_canceled: statement_timeout (or a cancel request)
  '57P01', // admin_shutdown: the server is shutting down or the backend was terminated
  '57P02', // crash_shutdown: another backend crashed and the server is resetting
  '57P03', // cannot_connect_now: the server is starting up or in recovery
  '57P05', // idle_session_timeout
  '25P03', // idle_in_transaction_session_timeout
  '58000', // system_error
  '58030', // io_error
]);
/** connection_exception (08…) and insufficient_resources (53…: too many connections, disk full, out of memory). */
const UNAVAILABLE_SQLSTATE_CLASSES = new Set(['08', '53']);

// Socket-level failures on the way to the server.
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

// node-postgres and pg-pool raise these as plain Errors, without a code.
const UNAVAILABLE_MESSAGES = new Set([
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'timeout expired',
  'Query read timeout',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
]);

function ownFault(error: unknown): DatabaseFault | undefined {
  if (error instanceof DatabaseSaturatedError) return 'saturated';
  if (error instanceof TransactionTimeoutError) return 'unavailable';
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (UNAVAILABLE_ERRNOS.has(code) || UNAVAILABLE_SQLSTATES.has(code)) return 'unavailable';
    if (/^[0-9A-Z]{5}$/.test(code) && UNAVAILABLE_SQLSTATE_CLASSES.has(code.slice(0, 2))) return 'unavailable';
  }
  return UNAVAILABLE_MESSAGES.has(error.message) ? 'unavailable' : undefined;
}

/**
 * The fault behind an error, looking through `cause` chains and AggregateErrors (a refused
 * connection to a name with several addresses is one), or undefined for anything else.
 */
export function databaseFault(error: unknown, depth = 0): DatabaseFault | undefined {
  if (depth > 8 || error === null || typeof error !== 'object') return undefined;
  const own = ownFault(error);
  if (own) return own;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const found = databaseFault(inner, depth + 1);
      if (found) return found;
    }
  }
  return databaseFault((error as { cause?: unknown }).cause, depth + 1);
}
