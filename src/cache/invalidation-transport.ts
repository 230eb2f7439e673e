// How a change reaches the other instances. Postgres sends NOTIFY inside the changing
// transaction (delivered only if the change commits); Redis publishes from the outbox relay.

import type { Tx } from '../db/database.js';
import type { CacheEvent } from './cache-event.js';

export interface TransportListener {
  /** Another instance (or this one) changed something. */
  onEvent(event: CacheEvent): void;
  /** The transport came back after a gap: messages may have been missed, so drop everything. */
  onResync(): void;
  /** Connected or lost; while lost the cache keeps entries for a shorter time. */
  onHealth(connected: boolean, error?: unknown): void;
}

export interface InvalidationTransport {
  readonly name: 'redis' | 'postgres';
  start(listener: TransportListener): void;
  /** Runs inside the changing transaction: makes sure the others hear of it once it commits. */
  record(tx: Tx, event: CacheEvent): Promise<void>;
  /** Tells the others now (the outbox relay's consumer; idempotent: an eviction twice is one). */
  publish(event: CacheEvent): Promise<void>;
  close(): Promise<void>;
}
