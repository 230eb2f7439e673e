// A pg.Pool that never lets a unit of work queue or hang for long: a full waiting line
// refuses at once, and a connection held past the transaction bound is destroyed.

import type { Socket } from 'node:net';
import pg from 'pg';
import type { DatabaseLimits } from '../config.js';
import { DatabaseSaturatedError, TransactionTimeoutError } from './database-fault.js';

/**
 * Bounds for background work (jobs, the CLI): a rollup or a purge may run for minutes, but a
 * stalled database still cannot hold it forever. Requests get the configured, tighter ones.
 */
export const BACKGROUND_LIMITS: DatabaseLimits = Object.freeze({
  statementTimeoutMs: 5 * 60_000,
  transactionTimeoutMs: 15 * 60_000,
  connectTimeoutMs: 10_000,
  maxWaiting: Number.MAX_SAFE_INTEGER,
});

/** The job queue's own statements are short; its jobs' work runs through a Database with BACKGROUND_LIMITS. */
export const QUEUE_LIMITS: DatabaseLimits = Object.freeze({
  statementTimeoutMs: 30_000,
  transactionTimeoutMs: 60_000,
  connectTimeoutMs: 10_000,
  maxWaiting: Number.MAX_SAFE_INTEGER,
});

/** The client gives up this long after the server's own statement_timeout should have answered. */
const CLIENT_READ_MARGIN_MS = 1_000;

/**
 * Session settings sent in the startup packet (no extra round trip per unit of work), plus
 * node-postgres's client-side read timeout: a stalled server never answers statement_timeout.
 * With pipelining, a read timeout destroys the connection, which fails every query on it.
 */
export function sessionTimeouts(limits: DatabaseLimits): pg.ClientConfig {
  return {
    statement_timeout: limits.statementTimeoutMs,
    idle_in_transaction_session_timeout: limits.transactionTimeoutMs,
    query_timeout: limits.statementTimeoutMs + CLIENT_READ_MARGIN_MS,
    connectionTimeoutMillis: limits.connectTimeoutMs,
  };
}

/** Closes a client's socket at once: every pending query rejects (with `error`, if given). */
export function destroyConnection(client: pg.ClientBase, error?: Error): void {
  (client as unknown as { connection?: { stream?: Socket } }).connection?.stream?.destroy(error);
}

/**
 * Ends a pool and waits until its connections are closed, not just handed back: pg-pool's
 * end() resolves while the last ones are still saying goodbye, and a server stopped then
 * would answer them with an error (57P01) instead of letting them go quietly.
 */
export async function endPool(pool: pg.Pool): Promise<void> {
  const open = pool.totalCount;
  let closed = 0;
  const allClosed = new Promise<void>((resolve) => {
    if (open === 0) resolve();
    pool.on('remove', () => {
      if (++closed >= open) resolve();
    });
  });
  await pool.end();
  await allClosed;
}

type ConnectCallback = (error: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void;

export class BoundedPool extends pg.Pool {
  readonly #maxWaiting: number;

  constructor(config: pg.PoolConfig, limits: DatabaseLimits) {
    super(config);
    this.#maxWaiting = limits.maxWaiting;
    const leases = new Map<pg.PoolClient, NodeJS.Timeout>();
    // PostgreSQL 15 has no transaction_timeout (17 has): the bound is kept here, per checkout.
    this.on('acquire', (client) => {
      const timer = setTimeout(() => {
        leases.delete(client);
        destroyConnection(client, new TransactionTimeoutError(`a unit of work held its connection for over ${limits.transactionTimeoutMs} ms`));
      }, limits.transactionTimeoutMs);
      timer.unref();
      leases.set(client, timer);
    });
    this.on('release', (_error: Error | undefined, client: pg.PoolClient) => {
      clearTimeout(leases.get(client));
      leases.delete(client);
    });
    // A connection that fails while checked out emits 'error' on its client; the pending query
    // rejects anyway, so an unheard event must not become an uncaught exception.
    this.on('connect', (client) => client.on('error', () => {}));
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    // Waiters that idle or not yet opened connections will not serve: they wait for a release.
    // Queueing behind maxWaiting of them means seconds of waiting: answer now instead.
    const free = this.idleCount + Math.max(0, (this.options.max ?? 10) - this.totalCount);
    const queued = this.waitingCount - free;
    if (queued >= this.#maxWaiting) {
      const error = new DatabaseSaturatedError(`${queued} units of work already wait for a database connection`);
      if (!callback) return Promise.reject(error);
      process.nextTick(() => callback(error, undefined, () => {}));
      return;
    }
    return callback ? super.connect(callback) : super.connect();
  }
}
