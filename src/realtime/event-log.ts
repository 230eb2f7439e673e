// The tenant's retained events, read in its own scope: what a reconnecting client missed, and
// the sequence a new connection starts from. All reads go through db.tenant(), so both
// isolation layers confine them to the tenant entered.

import type { RealtimeTx } from './realtime-tables.js';
import type { SequencedEvent } from './realtime-event.js';

/** What a catch-up read found after a sequence. */
export interface Backlog {
  /** Events after the sequence asked for, oldest first (at most the limit). */
  readonly events: readonly SequencedEvent[];
  /** The tenant's newest sequence (0 before its first event). */
  readonly latest: number;
  /** Some events after the sequence asked for are no longer retained: the client must resync. */
  readonly truncated: boolean;
}

export async function latestSequence(tx: RealtimeTx): Promise<number> {
  const row = await tx.selectFrom('realtime_sequences').select('last_seq').executeTakeFirst();
  return row ? Number(row.last_seq) : 0;
}

export async function eventsAfter(tx: RealtimeTx, tenantId: string, after: number, limit: number): Promise<Backlog> {
  const latest = await latestSequence(tx);
  if (after >= latest) return { events: [], latest, truncated: false };
  const rows = await tx
    .selectFrom('realtime_events')
    .select(['seq', 'channel', 'type', 'data', 'agent_id', 'created_at'])
    .where('seq', '>', String(after))
    .orderBy('seq')
    .limit(limit)
    .execute();
  // The first retained event must be the very next one, or some were pruned in between.
  const truncated = rows.length === 0 || Number(rows[0]!.seq) !== after + 1;
  const events = rows.map((row) => ({
    tenantId,
    seq: Number(row.seq),
    channel: row.channel,
    type: row.type,
    data: row.data,
    agentId: row.agent_id,
    at: row.created_at.getTime(),
  }));
  return { events, latest, truncated };
}
