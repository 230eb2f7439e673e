// How instances hear each other's realtime messages: PostgreSQL LISTEN/NOTIFY by default,
// Redis pub/sub when REDIS_URL is set. The cache invalidation transports carry only cache
// events, so the realtime bus has transports of its own in the same shape.

import type { OutboxPass } from '../outbox/outbox-message.js';
import type { BusMessage } from './bus-message.js';

export interface BusListener {
  onMessage(message: BusMessage): void;
  /** The bus came back after a gap: messages may have been missed (rooms catch up from the log). */
  onResync(): void;
}

export interface RealtimeBus {
  readonly name: 'postgres' | 'redis';
  /** The largest message worth sending: a relay pass's events are split into messages below it. */
  readonly maxMessageBytes: number;
  start(listener: BusListener): void;
  /** Listening now: what is published reaches this instance. */
  readonly connected: boolean;
  /** Sends to every instance, this one included; rejects when the bus is down. */
  publish(message: BusMessage): Promise<void>;
  /**
   * Sends the messages, in order, once the relay pass commits, and never if it does not
   * (LISTEN/NOTIFY: NOTIFY in the pass's transaction; Redis: published after its commit).
   */
  publishOnCommit(messages: readonly BusMessage[], pass: OutboxPass): Promise<void>;
  close(): Promise<void>;
}

/** NOTIFY payloads must stay under 8000 bytes; presence announcements are split below this. */
export const MAX_BUS_MESSAGE_BYTES = 7_000;
