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
  idleTimeoutMs: 30_000,
});

/** The job queue's own statements are short; its jobs' work runs through a Database with BACKGROUND_LIMITS. */
export const QUEUE_LIMITS: DatabaseLimits = Object.freeze({
  statementTimeoutMs: 30_000,
  transactionTimeoutMs: 60_000,
  connectTimeoutMs: 10_000,
  maxWaiting: Number.MAX_SAFE_INTEGER,
  idleTimeoutMs: 30_000,
});

/** The client gives up this long after the server's own statement_timeout should have answered. */
const CLIENT_READ_MARGIN_MS = 1_000;

/**
 * A pool's settings from its limits: the server's timeouts (sent in the startup packet, so they
 * cost no round trip per unit of work), how long to wait for a connection, how long to keep an
 * idle one.
 */
function poolLimits(limits: DatabaseLimits): pg.PoolConfig {
  return {
    statement_timeout: limits.statementTimeoutMs,
    idle_in_transaction_session_timeout: limits.transactionTimeoutMs,
    connectionTimeoutMillis: limits.connectTimeoutMs,
    idleTimeoutMillis: limits.idleTimeoutMs,
  };
}

/**
 * A pool's limits plus node-postgres's own client-side read timeout (a stalled server never
 * answers statement_timeout), for a plain pool whose queries other code sends (the job
 * queue's). A BoundedPool keeps the read timeout itself: see sendQuery().
 */
export function plainPoolLimits(limits: DatabaseLimits): pg.PoolConfig {
  return { ...poolLimits(limits), query_timeout: limits.statementTimeoutMs + CLIENT_READ_MARGIN_MS };
}

/** Each BoundedPool connection's read timeout (ms). */
const readTimeouts = new WeakMap<pg.ClientBase, number>();

/**
 * Sends one query and resolves with its result. On a BoundedPool's connection, a query not
 * answered within the statement timeout plus 1 s destroys the connection (a stalled server
 * never answers statement_timeout; with pipelining every query on it fails), as node-postgres's
 * `query_timeout` would.
 *
 * Not that option, nor node-postgres's promise form (client.query without a callback): both
 * keep each result reachable across young-generation GCs. With the same pool and the same
 * 50-row query, 3 MB survived each scavenge with either against 0.1 MB with the callback form
 * and this timer (which holds the connection, never the query), and minor GC cost 140-160 µs a
 * query against 8-12 (docs/benchmarks.md).
 *
 * @example
 *   const { rows } = await sendQuery(client, { text: 'SELECT 1 AS one', values: [] });
 */
export function sendQuery(client: pg.ClientBase, query: string | pg.QueryConfig | pg.Submittable): Promise<pg.QueryResult> {
  const readTimeoutMs = readTimeouts.get(client);
  return new Promise((resolve, reject) => {
    const timer = readTimeoutMs === undefined ? undefined : setTimeout(readTimedOut, readTimeoutMs, client);
    (client.query as (query: unknown, callback: (error: Error | undefined, result: pg.QueryResult) => void) => void)(query, (error, result) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(result);
    });
  });
}

/**
 * Corks the client's socket, so the protocol messages written from now on (node-postgres
 * writes each Parse, Bind, Execute and Sync on its own) leave together; the function returned
 * uncorks it, once. Every message keeps its own Sync: corking changes how they are written,
 * not what PostgreSQL receives.
 */
export function corkUntilFlushed(client: pg.ClientBase): () => void {
  const socket = (client as unknown as { connection?: { stream?: { cork?: () => void; uncork?: () => void } } }).connection?.stream;
  if (typeof socket?.cork !== 'function' || typeof socket.uncork !== 'function') return () => {};
  socket.cork();
  let corked = true;
  return () => {
    if (!corked) return;
    corked = false;
    socket.uncork!();
  };
}

function readTimedOut(client: pg.ClientBase): void {
  destroyConnection(client, new Error('Query read timeout'));
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
    super({ ...config, ...poolLimits(limits) });
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
    this.on('connect', (client) => {
      client.on('error', () => {});
      readTimeouts.set(client, limits.statementTimeoutMs + CLIENT_READ_MARGIN_MS);
    });
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
