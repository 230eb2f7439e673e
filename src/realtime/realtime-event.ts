// What a module records when its data changes, and what a connection receives: a channel, a
// type, ids and a few fields. Recorded in the outbox inside the changing transaction, so an
// event exists if and only if its change committed; the relay then gives it its sequence.

import type { Tx } from '../db/database.js';
import { recordEffect } from '../outbox/record-effect.js';

/** The outbox topic the realtime sequencer consumes. */
export const REALTIME_TOPIC = 'realtime.event';

export interface RealtimeEventInput {
  /** A channel some registered module declares (tasks, memories, ...). */
  readonly channel: string;
  /** What happened, `<thing>.<verb>`: task.created, memory.forgotten. */
  readonly type: string;
  /** Ids and minimal fields; never content or anything secret (kept for the retention window). */
  readonly data: Readonly<Record<string, unknown>>;
  /** On an agent-scoped channel, the agent the event concerns (null: no agent's). */
  readonly agentId?: string | null | undefined;
}

/** An event as every instance hears it and every connection receives it. */
export interface SequencedEvent {
  readonly tenantId: string;
  /** Per tenant, gapless, in the order the relay delivered the tenant's outbox. */
  readonly seq: number;
  readonly channel: string;
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly agentId: string | null;
  /** When the change was recorded (ms since epoch): latency is measured from here. */
  readonly at: number;
}

/**
 * Call inside the unit of work that makes the change.
 *
 * @example
 *   await db.tenant(async (tx) => {
 *     const task = await insertTask(tx, input);
 *     await publishRealtimeEvent(platformTx(tx), actor.tenantId, { channel: 'tasks', type: 'task.created', data: { id: task.id } });
 *   });
 */
export async function publishRealtimeEvent(tx: Tx, tenantId: string, event: RealtimeEventInput): Promise<void> {
  await recordEffect(tx, tenantId, {
    topic: REALTIME_TOPIC,
    payload: { channel: event.channel, type: event.type, data: event.data, agentId: event.agentId ?? null, at: Date.now() },
  });
}
