// Invalidation through Redis pub/sub, when REDIS_URL is set. Publishing happens after
// commit; the subscriber connection is separate (a subscribed Redis connection can do
// nothing else). Redis being down never fails a request: callers shorten their TTL.

import { Redis } from 'ioredis';
import { decodeCacheEvent, encodeCacheEvent, type CacheEvent } from './cache-event.js';
import type { InvalidationTransport, TransportListener } from './invalidation-transport.js';

export class RedisTransport implements InvalidationTransport {
  readonly name = 'redis' as const;
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #channel: string;
  #everReady = false;
  #closed = false;

  constructor(url: string, channel: string) {
    const options = {
      // Fail fast instead of queueing while Redis is away: the TTL covers the gap.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      lazyConnect: true,
      retryStrategy: (times: number) => Math.min(2_000, 50 * 2 ** Math.min(times, 6)),
    };
    this.#publisher = new Redis(url, options);
    this.#subscriber = new Redis(url, { ...options, enableOfflineQueue: true });
    this.#channel = channel;
  }

  start(listener: TransportListener): void {
    this.#publisher.on('error', () => {}); // health is judged by the subscriber
    this.#subscriber.on('error', (error) => listener.onHealth(false, error));
    this.#subscriber.on('close', () => {
      if (!this.#closed) listener.onHealth(false, new Error('redis subscriber connection closed'));
    });
    this.#subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.#channel) return;
      const event = decodeCacheEvent(message);
      if (event) listener.onEvent(event);
    });
    this.#subscriber.on('ready', () => {
      // ioredis re-subscribes on reconnect; the ready event precedes that, so subscribe here.
      this.#subscriber.subscribe(this.#channel).then(
        () => {
          if (this.#everReady) listener.onResync();
          this.#everReady = true;
          listener.onHealth(true);
        },
        (error: unknown) => listener.onHealth(false, error),
      );
    });
    this.#subscriber.connect().catch(() => {}); // errors arrive as events; retries continue
    this.#publisher.connect().catch(() => {});
  }

  async inTransaction(): Promise<void> {}

  async afterCommit(event: CacheEvent): Promise<void> {
    await this.#publisher.publish(this.#channel, encodeCacheEvent(event));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#subscriber.disconnect();
    this.#publisher.disconnect();
  }
}
