// The realtime bus on PostgreSQL LISTEN/NOTIFY: one plain client of its own (never a pooled,
// pipelining one) listens and sends, and reconnects with back-off when it drops; a reconnect
// tells the hub to catch up, since NOTIFYs sent meanwhile are lost.

import pg from 'pg';
import type { Logger } from 'pino';
import { encodeBusMessage, type BusMessage } from './bus-message.js';
import { busReceiver } from './bus-receiver.js';
import { MAX_BUS_MESSAGE_BYTES, type BusListener, type NotifyBus } from './realtime-bus.js';

export class PostgresBus implements NotifyBus {
  readonly name = 'postgres' as const;
  readonly maxMessageBytes = MAX_BUS_MESSAGE_BYTES;
  /** The sequencer NOTIFYs a relay pass's events here, in its statement (sequence-events.ts). */
  readonly channel: string;
  readonly #connection: pg.ClientConfig;
  readonly #logger: Logger;
  #client: pg.Client | undefined;
  #listener: BusListener | undefined;
  #receive: ((text: string) => void) | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #attempts = 0;
  #closed = false;
  #sending: Promise<void> = Promise.resolve();

  constructor(connection: pg.ClientConfig, channel: string, logger: Logger) {
    const { connectionString, host, port, user, password, database, ssl } = connection;
    this.#connection = { connectionString, host, port, user, password, database, ssl, connectionTimeoutMillis: 5_000 } as pg.ClientConfig;
    this.channel = channel;
    this.#logger = logger;
  }

  start(listener: BusListener): void {
    this.#listener = listener;
    this.#receive = busReceiver(this.#logger, (message) => listener.onMessage(message));
    void this.#connect(false);
  }

  get connected(): boolean {
    return this.#client !== undefined;
  }

  /**
   * NOTIFYs go out one after another on the listening connection (a pg client runs one query
   * at a time; queueing on it is deprecated), in the order published.
   */
  publish(message: BusMessage): Promise<void> {
    const sent = this.#sending.then(async () => {
      const client = this.#client;
      if (!client) throw new Error('the realtime bus is not connected');
      await client.query('SELECT pg_notify($1, $2)', [this.channel, encodeBusMessage(message)]);
    });
    this.#sending = sent.catch(() => {});
    return sent;
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
    client.on('notification', (notification) => {
      if (notification.channel !== this.channel || !notification.payload) return;
      this.#receive?.(notification.payload);
    });
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, new Error('realtime bus connection ended')));
    try {
      await client.connect();
      // A NOTIFY commits like a write and holds the cluster-wide notify lock until its commit
      // is done: without this it would wait for a WAL flush (of nothing worth keeping: a lost
      // message is caught up from the event log) while every other NOTIFY waits behind it.
      await client.query(`SET synchronous_commit TO off; LISTEN ${pg.escapeIdentifier(this.channel)}`);
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
    if (reconnecting) {
      this.#logger.info('realtime bus reconnected; rooms catch up from the event log');
      this.#listener?.onResync();
    }
  }

  #lost(client: pg.Client, error: unknown): void {
    if (this.#closed) return;
    if (this.#client && this.#client !== client) return;
    const wasConnected = this.#client === client;
    this.#client = undefined;
    client.removeAllListeners('end');
    client.end().catch(() => {});
    if (wasConnected) this.#logger.warn({ err: error }, 'realtime bus connection lost; reconnecting');
    if (this.#retryTimer) return;
    const delay = Math.min(5_000, 100 * 2 ** this.#attempts++);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#connect(true);
    }, delay);
    this.#retryTimer.unref();
  }
}
