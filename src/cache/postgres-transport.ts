// Invalidation through PostgreSQL LISTEN/NOTIFY, used when no REDIS_URL is set. NOTIFY is
// sent in the changing transaction; the listener holds its own connection (never a pooled,
// pipelining one) and reconnects with back-off when it drops.

import { sql } from 'kysely';
import pg from 'pg';
import type { Tx } from '../db/database.js';
import { decodeCacheEvent, encodeCacheEvent, type CacheEvent } from './cache-event.js';
import type { InvalidationTransport, TransportListener } from './invalidation-transport.js';

export class PostgresTransport implements InvalidationTransport {
  readonly name = 'postgres' as const;
  readonly #connection: pg.ClientConfig;
  readonly #channel: string;
  #client: pg.Client | undefined;
  #listener: TransportListener | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #attempts = 0;
  #closed = false;

  constructor(connection: pg.ClientConfig, channel: string) {
    // The pool's options include pipelining and pool sizes; the listener wants a plain client.
    const { connectionString, host, port, user, password, database, ssl } = connection as pg.ClientConfig;
    this.#connection = { connectionString, host, port, user, password, database, ssl, connectionTimeoutMillis: 5_000 } as pg.ClientConfig;
    this.#channel = channel;
  }

  start(listener: TransportListener): void {
    this.#listener = listener;
    void this.#connect(false);
  }

  /**
   * NOTIFY is transactional already (sent at COMMIT, never on rollback), so no outbox row:
   * it would add a write and a relay hop and deliver nothing NOTIFY does not.
   */
  async record(tx: Tx, event: CacheEvent): Promise<void> {
    await sql`SELECT pg_notify(${this.#channel}, ${encodeCacheEvent(event)})`.execute(tx);
  }

  /** For outbox rows an instance on Redis wrote, should the deployment have moved off Redis since. */
  async publish(event: CacheEvent): Promise<void> {
    if (!this.#client) throw new Error('the invalidation listener is not connected');
    await this.#client.query('SELECT pg_notify($1, $2)', [this.#channel, encodeCacheEvent(event)]);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(reconnecting: boolean): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client(this.#connection);
    client.on('notification', (message) => {
      if (message.channel !== this.#channel || !message.payload) return;
      const event = decodeCacheEvent(message.payload);
      if (event) this.#listener?.onEvent(event);
    });
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, new Error('listener connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.#channel)}`);
    } catch (error) {
      this.#lost(client, error);
      return;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#attempts = 0;
    if (reconnecting) this.#listener?.onResync();
    this.#listener?.onHealth(true);
  }

  #lost(client: pg.Client, error: unknown): void {
    if (this.#closed) return;
    if (this.#client && this.#client !== client) return;
    this.#client = undefined;
    client.removeAllListeners('end');
    client.end().catch(() => {});
    this.#listener?.onHealth(false, error);
    if (this.#retryTimer) return;
    const delay = Math.min(5_000, 100 * 2 ** this.#attempts++);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#connect(true);
    }, delay);
    this.#retryTimer.unref();
  }
}
