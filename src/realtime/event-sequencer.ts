// The outbox consumer of realtime events, fed a relay pass's events at once (several tenants',
// each tenant's in outbox order). The relay delivers a tenant's outbox in order and one relay at
// a time per tenant, so the sequence is taken here, in delivery order, not by the concurrent
// transactions that made the changes: one statement, in the relay pass's transaction, numbers
// and stores the whole pass, and the pass goes out on the bus in as few messages as the bus
// allows once that transaction commits (LISTEN/NOTIFY: NOTIFYed by that same statement; Redis:
// published after the commit). A second delivery of the same outbox row (the relay is at least
// once) finds its event and publishes it again under the same sequence.

import type { Logger } from 'pino';
import { isUuid } from '../db/ids.js';
import type { OutboxBatchConsumer, OutboxMessage } from '../outbox/outbox-message.js';
import { eventMessages } from './bus-message.js';
import type { RealtimeBus } from './realtime-bus.js';
import type { SequencedEvent } from './realtime-event.js';
import { sequenceEvents, type EventToSequence } from './sequence-events.js';

export interface EventSequencerOptions {
  readonly bus: RealtimeBus;
  readonly logger: Logger;
  /** Events kept per tenant for resuming; older ones are pruned as new ones arrive. */
  readonly retention: number;
  /** Channels some registered module declares; an event on another is dropped (and logged). */
  readonly channels: ReadonlySet<string>;
}

interface Recorded {
  readonly channel: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly agentId: string | null;
  readonly at: number;
}

export function eventSequencer({ bus, logger, retention, channels }: EventSequencerOptions): OutboxBatchConsumer {
  return async (messages, pass) => {
    const accepted: EventToSequence[] = [];
    for (const message of messages) {
      const recorded = decodeRecorded(message.payload);
      if (recorded && channels.has(recorded.channel)) accepted.push({ tenantId: message.tenantId, outboxId: message.id, ...recorded });
      else dropped(logger, message, 'realtime event not understood or on an undeclared channel; dropped');
    }
    // Heard once the pass commits: the events are in the log before anyone hears of them, so a
    // client that catches up from the log after hearing one always finds it.
    const announcement = bus.name === 'postgres' ? { channel: bus.channel, maxBytes: bus.maxMessageBytes } : undefined;
    const sequences = await sequenceEvents(pass, accepted, retention, announcement);
    const events: SequencedEvent[] = [];
    accepted.forEach(({ outboxId, ...event }, index) => {
      const seq = sequences[index];
      if (seq === null || seq === undefined) dropped(logger, { tenantId: event.tenantId, id: outboxId }, 'realtime event data too large to keep; dropped');
      else events.push({ ...event, seq });
    });
    // In order: a tenant's events in one pass may span two messages.
    if (bus.name === 'redis') await bus.publishOnCommit(eventMessages(events, bus.maxMessageBytes), pass);
  };
}

function dropped(logger: Logger, message: Pick<OutboxMessage, 'tenantId' | 'id'>, why: string): void {
  logger.warn({ outbox_id: message.id, tenant_id: message.tenantId }, why);
}

function decodeRecorded(payload: unknown): Recorded | undefined {
  const value = payload as Partial<Recorded> | null;
  if (typeof value !== 'object' || value === null) return undefined;
  if (typeof value.channel !== 'string' || typeof value.type !== 'string' || value.type.length === 0 || value.type.length > 80) return undefined;
  if (typeof value.data !== 'object' || value.data === null || Array.isArray(value.data)) return undefined;
  return {
    channel: value.channel,
    type: value.type,
    data: value.data,
    agentId: isUuid(value.agentId) ? value.agentId : null,
    // A time a Date can hold (one that cannot would fail the whole pass's statement).
    at: typeof value.at === 'number' && Math.abs(value.at) <= 8.64e15 ? value.at : Date.now(),
  };
}
