// Answers "does the database answer?" within a bound, on a connection of its own: a full or
// stalled request pool must not make readiness hang, and probes must not take request connections.

import pg from 'pg';
import { destroyConnection } from './bounded-pool.js';

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
    this.#connection = { connectionString, host, port, user, password, database, ssl, connectionTimeoutMillis: timeoutMs };
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
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#timeoutMs);
    });
    const answered = (async () => {
      const client = await (this.#client ??= this.#connect());
      await client.query('SELECT 1');
      return true;
    })().catch(() => false);
    const ready = await Promise.race([answered, timedOut]);
    clearTimeout(timer);
    // A probe that failed or timed out leaves its connection in an unknown state: start afresh.
    if (!ready) void this.#drop();
    return ready;
  }

  async #connect(): Promise<pg.Client> {
    const client = new pg.Client(this.#connection);
    // A lost connection fails the next query, which drops it; the event itself must be heard.
    client.on('error', () => {});
    await client.connect();
    return client;
  }

  async #drop(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    // Destroyed, not ended: ending waits for a server that may never answer.
    const connected = await client?.catch(() => undefined);
    if (connected) destroyConnection(connected);
  }
}
