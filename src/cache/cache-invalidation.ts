// Keeps every instance's caches honest: changes are announced through the transport (Redis
// or Postgres), every cache registered here evicts on them, and while the transport is down
// entries live only for the short degraded TTL. The degradation is logged once per outage.

import type { Logger } from 'pino';
import type { Tx } from '../db/database.js';
import type { CacheEvent } from './cache-event.js';
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

  /** Call inside the transaction that makes the change. */
  inTransaction(tx: Tx, event: CacheEvent): Promise<void> {
    return this.#transport.inTransaction(tx, event);
  }

  /** Call once the change committed: evicts here at once, and tells the others. */
  async committed(event: CacheEvent): Promise<void> {
    this.#dispatch(event);
    try {
      await this.#transport.afterCommit(event);
    } catch (error) {
      // The change is committed; others see it within the degraded TTL at worst.
      this.#logger.warn({ err: error, transport: this.#transport.name }, 'cache invalidation not published');
    }
  }

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
