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

interface BusBase {
  /** The largest message worth sending: a relay pass's events are split into messages below it. */
  readonly maxMessageBytes: number;
  start(listener: BusListener): void;
  /** Listening now: what is published reaches this instance. */
  readonly connected: boolean;
  /** Sends to every instance, this one included; rejects when the bus is down. */
  publish(message: BusMessage): Promise<void>;
  close(): Promise<void>;
}

/**
 * LISTEN/NOTIFY. A relay pass's events are NOTIFYed on `channel` by the sequencer's own
 * statement, in the pass's transaction: PostgreSQL delivers them at its commit (never on
 * rollback), in commit order across transactions.
 */
export interface NotifyBus extends BusBase {
  readonly name: 'postgres';
  readonly channel: string;
}

/** Redis pub/sub: a relay pass's events are published once the pass commits. */
export interface PubSubBus extends BusBase {
  readonly name: 'redis';
  /** Sends the messages, in order, once the relay pass commits, and never if it does not. */
  publishOnCommit(messages: readonly BusMessage[], pass: OutboxPass): Promise<void>;
}

export type RealtimeBus = NotifyBus | PubSubBus;

/** NOTIFY payloads must stay under 8000 bytes; presence announcements are split below this. */
export const MAX_BUS_MESSAGE_BYTES = 7_000;
