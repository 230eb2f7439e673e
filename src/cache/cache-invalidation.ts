// Keeps every instance's caches honest: changes are announced through the transport (Redis
// or Postgres), every cache registered here evicts on them, and while the transport is down
// entries live only for the short degraded TTL. The degradation is logged once per outage.

import type { Logger } from 'pino';
import { afterCommit, type Tx } from '../db/database.js';
import type { OutboxConsumer } from '../outbox/outbox-message.js';
import { decodeCacheEvent, type CacheEvent } from './cache-event.js';
import type { InvalidationTransport } from './invalidation-transport.js';

export type CacheEventHandler = (event: CacheEvent | 'all') => void;

export interface CacheInvalidationOptions {
  readonly transport: InvalidationTransport;
  readonly logger: Logger;
  /** TTL while changes from other instances can reach us (at most 30 s). */
  readonly ttlMs: number;
  /** TTL while they cannot: how stale another instance's change may be seen. */
  readonly degradedTtlMs: number;
}

export class CacheInvalidation {
  readonly #transport: InvalidationTransport;
  readonly #logger: Logger;
  readonly #ttlMs: number;
  readonly #degradedTtlMs: number;
  readonly #handlers: CacheEventHandler[] = [];
  /** Until the transport says it is connected, nothing from other instances is guaranteed to arrive. */
  #connected = false;
  #degradationLogged = false;
  #started = false;

  constructor(options: CacheInvalidationOptions) {
    this.#transport = options.transport;
    this.#logger = options.logger;
    this.#ttlMs = options.ttlMs;
    this.#degradedTtlMs = options.degradedTtlMs;
  }

  /** Connects the transport; until then entries get the short TTL. Idempotent. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#transport.start({
      onEvent: (event) => this.#dispatch(event),
      onResync: () => this.#dispatch('all'),
      onHealth: (connected, error) => this.#health(connected, error),
    });
  }

  get transport(): 'redis' | 'postgres' {
    return this.#transport.name;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** The TTL for an entry stored now. */
  ttlMs(): number {
    return this.#connected ? this.#ttlMs : this.#degradedTtlMs;
  }

  subscribe(handler: CacheEventHandler): void {
    this.#handlers.push(handler);
  }

  /**
   * Call inside the unit of work that makes the change. Once it commits this instance evicts
   * at once (an after-commit effect: nothing to lose in a crash, the cache dies with the
   * process) and the transport tells the others; if it rolls back, nothing happens.
   *
   * @example
   *   await db.tenant(async (tx) => {
   *     await tx.updateTable('tenants').set({ plan }).where('id', '=', tenantId).execute();
   *     await invalidation.record(tx, { scope: 'tenant', tenantId });
   *   });
   */
  async record(tx: Tx, event: CacheEvent): Promise<void> {
    afterCommit(tx, () => this.evictHere(event));
    await this.#transport.record(tx, event);
  }

  /** Drops this instance's entries the event covers, and tells no one else. */
  evictHere(event: CacheEvent): void {
    this.#dispatch(event);
  }

  /** Delivers the invalidations the transport put in the outbox (see RedisTransport.record). */
  readonly outboxConsumer: OutboxConsumer = async (message) => {
    const event = decodeCacheEvent(JSON.stringify(message.payload));
    if (!event) {
      this.#logger.warn({ outbox_id: message.id, tenant_id: message.tenantId }, 'outbox cache invalidation not understood; dropped');
      return;
    }
    await this.#transport.publish(event);
  };

  close(): Promise<void> {
    return this.#transport.close();
  }

  #dispatch(event: CacheEvent | 'all'): void {
    for (const handler of this.#handlers) handler(event);
  }

  #health(connected: boolean, error?: unknown): void {
    if (connected) {
      if (this.#degradationLogged) {
        this.#logger.info({ transport: this.#transport.name }, 'cache invalidation restored');
      }
      this.#degradationLogged = false;
      // Entries stored while degraded are short-lived already; drop them anyway to be exact.
      if (!this.#connected) this.#dispatch('all');
      this.#connected = true;
      return;
    }
    // Changes announced from now on may never arrive, and entries stored before were given the
    // long TTL: drop them, so every instance converges within the short TTL.
    if (this.#connected) this.#dispatch('all');
    this.#connected = false;
    if (!this.#degradationLogged) {
      this.#degradationLogged = true;
      this.#logger.warn(
        { err: error, transport: this.#transport.name, ttl_ms: this.#degradedTtlMs },
        'cache invalidation degraded: serving from the database with a short TTL',
      );
    }
  }
}
