// The relay's LISTEN connection: a plain client of its own (never a pooled, pipelining one).
// When it drops the relay keeps polling, and the next poll reconnects it.

import pg from 'pg';

export class OutboxWakeup {
  readonly #connection: pg.ClientConfig;
  readonly #channel: string;
  readonly #wake: () => void;
  #client: pg.Client | undefined;
  #connecting = false;
  #closed = true;

  constructor(connection: pg.ClientConfig, channel: string, wake: () => void) {
    // The pool's options include pipelining and pool sizes; the listener wants a plain client.
    const { connectionString, host, port, user, password, database, ssl } = connection;
    this.#connection = { connectionString, host, port, user, password, database, ssl, connectionTimeoutMillis: 5_000 } as pg.ClientConfig;
    this.#channel = channel;
    this.#wake = wake;
  }

  start(): void {
    this.#closed = false;
    this.ensureListening();
  }

  /** LISTEN is in place: a commit wakes the relay without waiting for the poll. */
  get listening(): boolean {
    return this.#client !== undefined;
  }

  /** Connects and listens unless it already does (or is trying to). */
  ensureListening(): void {
    if (this.#closed || this.#client || this.#connecting) return;
    this.#connecting = true;
    void this.#connect().finally(() => {
      this.#connecting = false;
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.#connection);
    const lost = () => {
      if (this.#client === client) this.#client = undefined;
      client.end().catch(() => {});
    };
    client.on('notification', (message) => {
      if (message.channel === this.#channel) this.#wake();
    });
    client.on('error', lost);
    client.on('end', lost);
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.#channel)}`);
    } catch {
      lost(); // the relay polls meanwhile; the next poll tries again
      return;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    // Rows committed while we were not listening: look now rather than at the next poll.
    this.#wake();
  }
}
