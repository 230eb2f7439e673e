// Numbers a relay pass's realtime events, several tenants' at once, in ONE statement and one
// round trip: each tenant's counter is bumped by its count, its events are stored under the
// numbers that follow, and the oldest beyond the retention window are pruned now and then. On
// the LISTEN/NOTIFY bus the same statement also NOTIFYs them (in the pass's transaction, so
// they are heard at its commit and never on rollback): a round trip fewer per relay pass than a
// NOTIFY statement of their own after the numbers come back.
//
// It runs in the relay pass's own transaction, as the service role like the relay (through the
// audited helper, a row of service_role_audit per pass would flood it), so the numbers commit
// with the deletion of the outbox rows, in one WAL flush. The tenant of each event is its outbox
// row's, which the tenant's own scoped transaction wrote. Two passes never number one tenant at
// once: the relay holds the tenant's advisory lock meanwhile, and the unique
// (tenant_id, outbox_id) index refuses a second numbering of one outbox row regardless.

import type { OutboxPass } from '../outbox/outbox-message.js';
import { EVENTS_ENVELOPE } from './bus-message.js';

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

/** Where and how large the statement's NOTIFYs are (the LISTEN/NOTIFY bus). */
export interface Announcement {
  readonly channel: string;
  /** No message over this many bytes (NOTIFY's payload limit is 8000). */
  readonly maxBytes: number;
}

// `known`: outbox rows numbered by an earlier delivery keep their number (the relay is at least
// once). `fresh`: the others, ranked per tenant in the order given. An event too large for the
// table's CHECK is left out (its sequence comes back null) rather than failing every tenant's.
const SEQUENCE_CTES = `
WITH input AS (
  SELECT * FROM unnest($1::int[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::uuid[], $8::timestamptz[], $10::float8[])
    AS i (ord, tenant_id, outbox_id, channel, type, data, agent_id, created_at, at)
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
), sequenced AS (
  SELECT ord, seq FROM known
  UNION ALL
  SELECT ord, seq FROM numbered
)`;

const SEQUENCE_SQL = `${SEQUENCE_CTES}
SELECT ord, seq FROM sequenced`;

// The same, and every event numbered or known NOTIFYed on $11 as an `events` bus message
// (bus-message.ts writes the envelope, $12 and $13), in the order given, so a tenant's events
// stay in sequence order across messages. Messages are cut where the running size crosses a
// multiple of the budget less the pass's largest event, so none exceeds the budget ($14): a
// message is at most one budget's worth of events plus the one that crossed it. One pg_notify
// per message, called in message order (the aggregate reads its sorted input in order);
// joining the result to it makes the statement run it.
const SEQUENCE_AND_NOTIFY_SQL = `${SEQUENCE_CTES}, announced AS (
  SELECT count(pg_notify($11, m.text)) AS messages FROM (
    SELECT $12 || string_agg(c.json, ',' ORDER BY c.ord) || $13 AS text
    FROM (
      SELECT j.ord, j.json,
        coalesce(sum(j.bytes) OVER (ORDER BY j.ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
          / greatest(1, $14::int - max(j.bytes) OVER ()) AS message
      FROM (
        SELECT q.ord, e.json, octet_length(e.json) + 1 AS bytes
        FROM sequenced q
        JOIN input i USING (ord)
        CROSS JOIN LATERAL (
          SELECT json_build_object('tenantId', i.tenant_id, 'seq', q.seq, 'channel', i.channel, 'type', i.type, 'data', i.data::json, 'agentId', i.agent_id, 'at', i.at)::text AS json
        ) e
      ) j
    ) c
    GROUP BY c.message
    ORDER BY c.message
  ) m
)
SELECT q.ord, q.seq FROM sequenced q CROSS JOIN announced`;

/**
 * The sequence of each event, in the order given; null for one left out (too large). With an
 * announcement, the statement also NOTIFYs the events numbered (and those numbered before).
 */
export async function sequenceEvents(
  pass: Pick<OutboxPass, 'query'>,
  events: readonly EventToSequence[],
  retention: number,
  announcement?: Announcement,
): Promise<Array<number | null>> {
  if (events.length === 0) return [];
  const values: unknown[] = [
    events.map((_, index) => index),
    events.map((event) => event.tenantId),
    events.map((event) => event.outboxId),
    events.map((event) => event.channel),
    events.map((event) => event.type),
    events.map((event) => JSON.stringify(event.data)),
    events.map((event) => event.agentId),
    events.map((event) => new Date(event.at)),
    retention,
    events.map((event) => event.at),
  ];
  if (announcement) values.push(announcement.channel, EVENTS_ENVELOPE.head, EVENTS_ENVELOPE.tail, announcement.maxBytes - EVENTS_ENVELOPE.bytes);
  // Named: a dozen CTEs parsed, analyzed and rewritten once per connection, not every pass.
  const { rows } = await pass.query<{ ord: number; seq: string }>(announcement ? SEQUENCE_AND_NOTIFY_SQL : SEQUENCE_SQL, values, { prepared: true });
  const sequences: Array<number | null> = events.map(() => null);
  for (const row of rows) sequences[row.ord] = Number(row.seq);
  return sequences;
}
