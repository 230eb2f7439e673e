// Numbers a relay pass's realtime events, several tenants' at once, in ONE statement and one
// round trip: each tenant's counter is bumped by its count, its events are stored under the
// numbers that follow, and the oldest beyond the retention window are pruned now and then.
//
// It runs in the relay pass's own transaction, as the service role like the relay (through the
// audited helper, a row of service_role_audit per pass would flood it), so the numbers commit
// with the deletion of the outbox rows, in one WAL flush. The tenant of each event is its outbox
// row's, which the tenant's own scoped transaction wrote. Two passes never number one tenant at
// once: the relay holds the tenant's advisory lock meanwhile, and the unique
// (tenant_id, outbox_id) index refuses a second numbering of one outbox row regardless.

import type { OutboxPass } from '../outbox/outbox-message.js';

/** One event to number, in the order the relay delivers them (each tenant's oldest first). */
export interface EventToSequence {
  readonly tenantId: string;
  readonly outboxId: string;
  readonly channel: string;
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly agentId: string | null;
  readonly at: number;
}

/** Pruning runs when a tenant's counter passes a multiple of this: a cheap DELETE now and then. */
const PRUNE_EVERY = 32;

// `known`: outbox rows numbered by an earlier delivery keep their number (the relay is at least
// once). `fresh`: the others, ranked per tenant in the order given. An event too large for the
// table's CHECK is left out (its sequence comes back null) rather than failing every tenant's.
const SEQUENCE_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::int[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::uuid[], $8::timestamptz[])
    AS i (ord, tenant_id, outbox_id, channel, type, data, agent_id, created_at)
), known AS (
  SELECT i.ord, e.seq FROM input i
  JOIN realtime_events e ON e.tenant_id = i.tenant_id AND e.outbox_id = i.outbox_id
), fresh AS (
  SELECT i.*, row_number() OVER (PARTITION BY i.tenant_id ORDER BY i.ord) AS rank
  FROM input i
  WHERE NOT EXISTS (SELECT 1 FROM known k WHERE k.ord = i.ord)
    AND octet_length(i.data::jsonb::text) <= 4096
), counts AS (
  SELECT tenant_id, count(*) AS n FROM fresh GROUP BY tenant_id
), bumped AS (
  INSERT INTO realtime_sequences AS s (tenant_id, last_seq)
  SELECT tenant_id, n FROM counts
  ON CONFLICT (tenant_id) DO UPDATE SET last_seq = s.last_seq + excluded.last_seq
  RETURNING s.tenant_id, s.last_seq
), numbered AS (
  SELECT f.ord, f.tenant_id, b.last_seq - c.n + f.rank AS seq, f.outbox_id, f.channel, f.type, f.data, f.agent_id, f.created_at
  FROM fresh f JOIN counts c USING (tenant_id) JOIN bumped b USING (tenant_id)
), stored AS (
  INSERT INTO realtime_events (tenant_id, seq, outbox_id, channel, type, data, agent_id, created_at)
  SELECT tenant_id, seq, outbox_id, channel, type, data::jsonb, agent_id, created_at FROM numbered
), pruned AS (
  DELETE FROM realtime_events e
  USING bumped b JOIN counts c USING (tenant_id)
  WHERE e.tenant_id = b.tenant_id
    AND b.last_seq > $9::bigint
    AND b.last_seq / ${PRUNE_EVERY} > (b.last_seq - c.n) / ${PRUNE_EVERY}
    AND e.seq <= b.last_seq - $9::bigint
)
SELECT ord, seq FROM known
UNION ALL
SELECT ord, seq FROM numbered`;

/** The sequence of each event, in the order given; null for one left out (too large). */
export async function sequenceEvents(pass: Pick<OutboxPass, 'query'>, events: readonly EventToSequence[], retention: number): Promise<Array<number | null>> {
  if (events.length === 0) return [];
  const { rows } = await pass.query<{ ord: number; seq: string }>(SEQUENCE_SQL, [
    events.map((_, index) => index),
    events.map((event) => event.tenantId),
    events.map((event) => event.outboxId),
    events.map((event) => event.channel),
    events.map((event) => event.type),
    events.map((event) => JSON.stringify(event.data)),
    events.map((event) => event.agentId),
    events.map((event) => new Date(event.at)),
    retention,
  ]);
  const sequences: Array<number | null> = events.map(() => null);
  for (const row of rows) sequences[row.ord] = Number(row.seq);
  return sequences;
}
