// Invalidation through Redis pub/sub, when REDIS_URL is set. A tenant's change is recorded in
// the outbox and published by the relay, so a crash after commit cannot lose it; the subscriber
// connection is separate (a subscribed Redis connection can do nothing else). Redis down or
// stalled never fails nor holds a request: callers shorten their TTL.

import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { afterCommit, type Tx } from '../db/database.js';
import { recordEffect } from '../outbox/record-effect.js';
import { decodeCacheEvent, encodeCacheEvent, type CacheEvent } from './cache-event.js';
import type { InvalidationTransport, TransportListener } from './invalidation-transport.js';

/** The outbox topic of cache invalidations; its consumer publishes them. */
export const CACHE_INVALIDATION_TOPIC = 'cache.invalidate';

/** A command Redis has not answered within this long fails: a committed change is answered promptly. */
const COMMAND_TIMEOUT_MS = 500;
/** A stalled Redis sends no error, only silence: the subscriber pings it this often to notice. */
const HEARTBEAT_MS = 1_000;

export class RedisTransport implements InvalidationTransport {
  readonly name = 'redis' as const;
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #logger: Logger;
  #everReady = false;
  #closed = false;
  #heartbeat: NodeJS.Timeout | undefined;
  /** The last heartbeat went unanswered: the next answered one means messages may have been missed. */
  #silent = false;

  constructor(url: string, channel: string, logger: Logger) {
    this.#logger = logger;
    const options = {
      // Fail fast instead of queueing while Redis is away: the TTL covers the gap.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      commandTimeout: COMMAND_TIMEOUT_MS,
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
          this.#silent = false;
          listener.onHealth(true);
        },
        (error: unknown) => listener.onHealth(false, error),
      );
    });
    this.#subscriber.connect().catch(() => {}); // errors arrive as events; retries continue
    this.#publisher.connect().catch(() => {});
    this.#heartbeat = setInterval(() => this.#beat(listener), HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  /**
   * A tenant's change goes through the outbox (tenant-scoped, so platform changes cannot):
   * those are published after commit, and a crash in between leaves the others stale for at
   * most their cache TTL.
   */
  async record(tx: Tx, event: CacheEvent): Promise<void> {
    if (event.scope === 'tenant') {
      await recordEffect(tx, event.tenantId, { topic: CACHE_INVALIDATION_TOPIC, payload: event });
      return;
    }
    afterCommit(tx, () =>
      this.publish(event).catch((error: unknown) => {
        // Committed; the others see it within the degraded TTL at worst.
        this.#logger.warn({ err: error, transport: this.name }, 'cache invalidation not published');
      }),
    );
  }

  async publish(event: CacheEvent): Promise<void> {
    await this.#publisher.publish(this.#channel, encodeCacheEvent(event));
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#subscriber.disconnect();
    this.#publisher.disconnect();
  }

  #beat(listener: TransportListener): void {
    if (this.#subscriber.status !== 'ready') return; // reconnecting: the events report it
    this.#subscriber.ping().then(
      () => {
        if (!this.#silent || this.#closed) return;
        this.#silent = false;
        listener.onResync();
        listener.onHealth(true);
      },
      (error: unknown) => {
        if (this.#closed) return;
        this.#silent = true;
        listener.onHealth(false, error);
      },
    );
  }
}
