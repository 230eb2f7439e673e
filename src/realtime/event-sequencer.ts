// The outbox consumer of realtime events. The relay delivers a tenant's outbox in order and
// one relay at a time per tenant, so the sequence is taken here, in delivery order, not by the
// concurrent transactions that made the changes. A second delivery of the same outbox row (the
// relay is at least once) finds its event and publishes it again under the same sequence.

import type { Logger } from 'pino';
import { isUuid } from '../db/ids.js';
import type { OutboxConsumer } from '../outbox/outbox-message.js';
import { enterTenant } from '../tenancy/enter-tenant.js';
import type { RealtimeBus } from './realtime-bus.js';
import type { SequencedEvent } from './realtime-event.js';
import type { RealtimeDatabase, RealtimeTx } from './realtime-tables.js';

export interface EventSequencerOptions {
  readonly db: RealtimeDatabase;
  readonly bus: RealtimeBus;
  readonly logger: Logger;
  /** Events kept per tenant for resuming; older ones are pruned as new ones arrive. */
  readonly retention: number;
  /** Channels some registered module declares; an event on another is dropped (and logged). */
  readonly channels: ReadonlySet<string>;
}

/** Pruning runs on every n-th sequence: one cheap DELETE now and then, not one per event. */
const PRUNE_EVERY = 32;

interface Recorded {
  readonly channel: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly agentId: string | null;
  readonly at: number;
}

export function eventSequencer({ db, bus, logger, retention, channels }: EventSequencerOptions): OutboxConsumer {
  return async (message) => {
    const recorded = decodeRecorded(message.payload);
    if (!recorded || !channels.has(recorded.channel)) {
      logger.warn({ outbox_id: message.id, tenant_id: message.tenantId }, 'realtime event not understood or on an undeclared channel; dropped');
      return;
    }
    const event = await enterTenant({ tenantId: message.tenantId, requestId: `outbox:${message.id}` }, () =>
      db.tenant((tx) => sequence(tx, message.tenantId, message.id, recorded, retention)),
    );
    // After commit: the event is in the log before anyone hears of it, so a client that
    // catches up from the log after hearing it always finds it.
    await bus.publish({ kind: 'event', event });
  };
}

async function sequence(tx: RealtimeTx, tenantId: string, outboxId: string, recorded: Recorded, retention: number): Promise<SequencedEvent> {
  const existing = await tx.selectFrom('realtime_events').select('seq').where('outbox_id', '=', outboxId).executeTakeFirst();
  if (existing) return { tenantId, seq: Number(existing.seq), ...recorded };
  const { last_seq } = await tx
    .insertInto('realtime_sequences')
    .values({ last_seq: 1 })
    .onConflict((conflict) => conflict.column('tenant_id').doUpdateSet((eb) => ({ last_seq: eb('realtime_sequences.last_seq', '+', 1) })))
    .returning('last_seq')
    .executeTakeFirstOrThrow();
  const seq = Number(last_seq);
  await tx
    .insertInto('realtime_events')
    .values({ seq, outbox_id: outboxId, channel: recorded.channel, type: recorded.type, data: JSON.stringify(recorded.data), agent_id: recorded.agentId, created_at: new Date(recorded.at) })
    .execute();
  if (seq % PRUNE_EVERY === 0 && seq > retention) {
    await tx.deleteFrom('realtime_events').where('seq', '<=', String(seq - retention)).execute();
  }
  return { tenantId, seq, ...recorded };
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
    at: typeof value.at === 'number' && Number.isFinite(value.at) ? value.at : Date.now(),
  };
}
