// The realtime bus on Redis pub/sub (REDIS_URL set): a publisher and a subscriber connection
// (a subscribed connection can do nothing else). A resubscription after a drop tells the hub
// to catch up from the event log, since messages published meanwhile are lost.

import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { OutboxPass } from '../outbox/outbox-message.js';
import { encodeBusMessage, type BusMessage } from './bus-message.js';
import { busReceiver } from './bus-receiver.js';
import type { BusListener, PubSubBus } from './realtime-bus.js';

export class RedisBus implements PubSubBus {
  readonly name = 'redis' as const;
  /** Redis takes far larger messages: a relay pass's events go out as one publish. */
  readonly maxMessageBytes = 4 * 1_048_576;
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #logger: Logger;
  #everReady = false;

  constructor(url: string, channel: string, logger: Logger) {
    const options = {
      // A publish while Redis is away fails at once: the relay retries the event with backoff.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      commandTimeout: 500,
      lazyConnect: true,
      retryStrategy: (times: number) => Math.min(2_000, 50 * 2 ** Math.min(times, 6)),
    };
    this.#publisher = new Redis(url, options);
    this.#subscriber = new Redis(url, { ...options, enableOfflineQueue: true, commandTimeout: undefined });
    this.#channel = channel;
    this.#logger = logger;
  }

  start(listener: BusListener): void {
    this.#publisher.on('error', () => {});
    this.#subscriber.on('error', (error) => this.#logger.warn({ err: error }, 'realtime bus (redis) error'));
    const receive = busReceiver(this.#logger, (message) => listener.onMessage(message));
    this.#subscriber.on('message', (channel: string, text: string) => {
      if (channel === this.#channel) receive(text);
    });
    this.#subscriber.on('ready', () => {
      this.#subscriber.subscribe(this.#channel).then(
        () => {
          if (this.#everReady) listener.onResync();
          this.#everReady = true;
        },
        (error: unknown) => this.#logger.warn({ err: error }, 'realtime bus (redis) could not subscribe'),
      );
    });
    this.#subscriber.connect().catch(() => {});
    this.#publisher.connect().catch(() => {});
  }

  get connected(): boolean {
    return this.#subscriber.status === 'ready' && this.#publisher.status === 'ready';
  }

  async publish(message: BusMessage): Promise<void> {
    await this.#publisher.publish(this.#channel, encodeBusMessage(message));
  }

  /**
   * Published after the relay pass commits, in order, so the events are in the log first. A
   * publish that fails then is logged, not retried (the rows are delivered): a socket that
   * missed the event reads it from the log at its tenant's next event, at a resubscription
   * after Redis was away, or when it resumes. Two relays taking turns on a tenant may publish
   * its events out of order; a socket that sees the later first reads the earlier from the log.
   */
  async publishOnCommit(messages: readonly BusMessage[], pass: OutboxPass): Promise<void> {
    pass.afterCommit(async () => {
      for (const message of messages) await this.publish(message);
    });
  }

  async close(): Promise<void> {
    this.#subscriber.disconnect();
    this.#publisher.disconnect();
  }
}
