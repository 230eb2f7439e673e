// Answers "does the database answer?" within a bound, on a connection of its own: a full or
// stalled request pool must not make readiness hang, and probes must not take request connections.

import pg from 'pg';
import { destroyConnection } from './bounded-pool.js';

/** Opening the probe's connection may outlast one probe (a loaded machine); the next one reuses it. */
const CONNECT_TIMEOUT_MS = 5_000;

export class ReadinessProbe {
  readonly #connection: pg.ClientConfig;
  readonly #timeoutMs: number;
  #client: Promise<pg.Client> | undefined;
  /** Concurrent checks share one query, so a burst of probes costs the database one. */
  #pending: Promise<boolean> | undefined;
  #closed = false;

  constructor(connection: pg.ClientConfig, timeoutMs: number) {
    // Only where to connect: no pipelining, pool sizes or request timeouts from the pool's options.
    const { connectionString, host, port, user, password, database, ssl } = connection;
    this.#connection = { connectionString, host, port, user, password, database, ssl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS };
    this.#timeoutMs = timeoutMs;
  }

  /** True when `SELECT 1` answered within the timeout; never takes longer than that. */
  check(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return (this.#pending ??= this.#probe().finally(() => (this.#pending = undefined)));
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#drop();
  }

  async #probe(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    let connected = false;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#timeoutMs);
    });
    const connection = (this.#client ??= this.#connect());
    const answered = (async () => {
      const client = await connection;
      connected = true;
      await client.query('SELECT 1');
      return true;
    })().catch(() => {
      void this.#drop(connection); // failed: the next probe starts afresh
      return false;
    });
    const ready = await Promise.race([answered, timedOut]);
    clearTimeout(timer);
    // A query left unanswered means a stuck connection: drop it. A connection still opening
    // is left to finish, for the next probe.
    if (!ready && connected) void this.#drop(connection);
    return ready;
  }

  async #connect(): Promise<pg.Client> {
    const client = new pg.Client(this.#connection);
    // A lost connection fails the next query, which drops it; the event itself must be heard.
    client.on('error', () => {});
    await client.connect();
    return client;
  }

  /** Drops the probe's connection (only if it is still `which`, when given). */
  async #drop(which?: Promise<pg.Client>): Promise<void> {
    const client = this.#client;
    if (which && client !== which) return;
    this.#client = undefined;
    // Destroyed, not ended: ending waits for a server that may never answer.
    const connected = await client?.catch(() => undefined);
    if (connected) destroyConnection(connected);
  }
}
