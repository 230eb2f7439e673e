// The relay numbers realtime events a pass at a time: many tenants' events in one statement and
// as few bus messages as NOTIFY's payload limit allows, each tenant's in outbox order with no
// gap, none under another tenant; a redelivery keeps its numbers; the numbering commits with the
// relay pass and is heard only then, never when the pass rolls back; and two relays working the
// same outbox at once neither number an event twice nor reorder a tenant's events.

import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../src/db/database.js';
import type { OutboxBatchConsumer, OutboxMessage } from '../../src/outbox/outbox-message.js';
import type { BusMessage } from '../../src/realtime/bus-message.js';
import { eventSequencer } from '../../src/realtime/event-sequencer.js';
import { PostgresBus } from '../../src/realtime/postgres-bus.js';
import { MAX_BUS_MESSAGE_BYTES } from '../../src/realtime/realtime-bus.js';
import { REALTIME_TOPIC, type SequencedEvent } from '../../src/realtime/realtime-event.js';
import { eventually, startOutboxFixture, type OutboxFixture } from '../outbox/support/outbox-fixture.js';
import { patient } from '../support/pools.js';
import { TEST_ROLES } from '../support/roles.js';

const CHANNEL = 'tenantry_realtime';

let fixture: OutboxFixture;
const buses: PostgresBus[] = [];

beforeAll(async () => {
  fixture = await startOutboxFixture();
});

afterEach(async () => {
  for (const bus of buses.splice(0)) await bus.close();
  await fixture.database.admin.query('DELETE FROM outbox');
});

afterAll(async () => {
  await fixture.close();
});

/** A bus that only listens, as another instance's hub would: every message and event heard. */
async function listener(): Promise<{ messages: BusMessage[]; events: SequencedEvent[] }> {
  const heard = { messages: [] as BusMessage[], events: [] as SequencedEvent[] };
  const bus = new PostgresBus(fixture.pool.options, CHANNEL, fixture.logger);
  buses.push(bus);
  bus.start({
    onMessage: (message) => {
      heard.messages.push(message);
      if (message.kind === 'events') heard.events.push(...message.events);
    },
    onResync: () => {},
  });
  await eventually(() => bus.connected);
  return heard;
}

/** The sequencer as the server builds it, publishing on a bus of its own; counts its calls. */
async function sequencer(pool = fixture.pool): Promise<{ consume: OutboxBatchConsumer; calls: OutboxMessage[][] }> {
  const bus = new PostgresBus(pool.options, CHANNEL, fixture.logger);
  buses.push(bus);
  bus.start({ onMessage: () => {}, onResync: () => {} });
  await eventually(() => bus.connected);
  const inner = eventSequencer({ bus, logger: fixture.logger, retention: 1_000, channels: new Set(['tasks']) });
  const calls: OutboxMessage[][] = [];
  return {
    calls,
    consume: async (messages, pass) => {
      calls.push([...messages]);
      await inner(messages, pass);
    },
  };
}

/** Calls a batch consumer as a relay pass does: in a transaction as the service role, which then commits or rolls back. */
async function inPass(consume: OutboxBatchConsumer, messages: readonly OutboxMessage[], end: 'COMMIT' | 'ROLLBACK' = 'COMMIT'): Promise<void> {
  const client = await fixture.pool.connect();
  const effects: Array<() => Promise<void>> = [];
  try {
    await client.query(`BEGIN; SET LOCAL ROLE ${TEST_ROLES.service}`);
    await consume(messages, { query: (text, values) => client.query(text, values as unknown[]), afterCommit: (effect) => effects.push(effect) });
    await client.query(end);
  } finally {
    client.release();
  }
  if (end === 'COMMIT') for (const effect of effects) await effect();
}

/** The outbox rows left, as a consumer is handed them. */
async function pendingMessages(): Promise<OutboxMessage[]> {
  const { rows } = await fixture.database.admin.query<{ tenant_id: string; id: string; topic: string; payload: unknown }>(
    'SELECT tenant_id, id, topic, payload FROM outbox ORDER BY created_at, id',
  );
  return rows.map((row): OutboxMessage => ({ tenantId: row.tenant_id, id: row.id, topic: row.topic, payload: row.payload, attempts: 0 }));
}

function recordEvent(tenantId: string, n: number, data: Record<string, unknown> = {}): Promise<void> {
  return fixture.record(tenantId, REALTIME_TOPIC, { channel: 'tasks', type: 'task.updated', data: { tenant: tenantId, n, ...data }, agentId: null, at: Date.now() });
}

/** The stored log, per tenant: [seq, n] by sequence. */
async function storedLog(): Promise<Map<string, Array<[number, number]>>> {
  const { rows } = await fixture.database.admin.query<{ tenant_id: string; seq: string; data: { tenant: string; n: number } }>(
    'SELECT tenant_id, seq, data FROM realtime_events ORDER BY tenant_id, seq',
  );
  const log = new Map<string, Array<[number, number]>>();
  for (const row of rows) {
    expect(row.data.tenant).toBe(row.tenant_id);
    log.set(row.tenant_id, [...(log.get(row.tenant_id) ?? []), [Number(row.seq), row.data.n]]);
  }
  return log;
}

/** What a tenant's sockets would have been offered, in the order heard: [seq, n]. */
function heardBy(events: SequencedEvent[], tenantId: string): Array<[number, number]> {
  return events.filter((event) => event.tenantId === tenantId).map((event) => [event.seq, event.data.n as number]);
}

const oneToN = (count: number, from = 1) => Array.from({ length: count }, (_, index) => from + index);

describe('numbering realtime events a relay pass at a time', () => {
  it("numbers many tenants' events in one call, in outbox order per tenant with no gap, and announces them in a few messages", async () => {
    const tenants = await Promise.all(Array.from({ length: 6 }, () => fixture.newTenant()));
    for (let n = 1; n <= 20; n++) for (const tenantId of tenants) await recordEvent(tenantId, n);
    const heard = await listener();
    const { consume, calls } = await sequencer();
    const relay = fixture.relay({}, { batchConsumers: new Map([[REALTIME_TOPIC, consume]]), rowsPerTenant: 50 });

    expect(await relay.drain()).toBe(120);
    expect(calls.map((call) => call.length)).toEqual([120]);
    expect(await fixture.rows()).toEqual([]);
    const log = await storedLog();
    for (const tenantId of tenants) expect(log.get(tenantId)).toEqual(oneToN(20).map((n) => [n, n]));

    await eventually(() => heard.events.length >= 120);
    for (const event of heard.events) expect(event.data.tenant).toBe(event.tenantId);
    for (const tenantId of tenants) expect(heardBy(heard.events, tenantId)).toEqual(oneToN(20).map((n) => [n, n]));
    // 120 events of ~230 bytes: a handful of NOTIFYs under the payload limit, not 120.
    expect(heard.messages.length).toBeLessThanOrEqual(6);
    for (const message of heard.messages) expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThanOrEqual(MAX_BUS_MESSAGE_BYTES);
  });

  it('numbers and announces in one statement, each NOTIFY under the payload limit even with events near the largest kept', async () => {
    const tenants = await Promise.all(Array.from({ length: 3 }, () => fixture.newTenant()));
    // Sizes from tiny to near the 4 KiB an event's data may hold, so messages are cut unevenly.
    const sizes = [10, 3_900, 200, 3_950, 1_500, 50, 3_000, 2_500, 700, 3_940];
    for (const [n, size] of sizes.entries()) for (const tenantId of tenants) await recordEvent(tenantId, n + 1, { blob: 'z'.repeat(size) });
    // The payloads as PostgreSQL delivers them, before any decoding.
    const raw = new pg.Client({ connectionString: fixture.database.url });
    await raw.connect();
    const payloads: string[] = [];
    raw.on('notification', (message) => payloads.push(message.payload ?? ''));
    await raw.query(`LISTEN ${CHANNEL}`);
    const heard = await listener();
    const { consume } = await sequencer();
    let statements = 0;
    const counting: OutboxBatchConsumer = (messages, pass) => consume(messages, { ...pass, query: (text, values) => ((statements += 1), pass.query(text, values)) });
    const relay = fixture.relay({}, { batchConsumers: new Map([[REALTIME_TOPIC, counting]]), rowsPerTenant: 50 });
    try {
      expect(await relay.drain()).toBe(30);
      expect(statements).toBe(1);
      await eventually(() => heard.events.length >= 30);
      await raw.query('SELECT 1');
    } finally {
      await raw.end();
    }
    for (const tenantId of tenants) expect(heardBy(heard.events, tenantId)).toEqual(oneToN(10).map((n) => [n, n]));
    // Each event's data arrives whole.
    for (const event of heard.events) expect((event.data.blob as string).length).toBe(sizes[(event.data.n as number) - 1]);
    expect(payloads.length).toBeGreaterThan(1);
    for (const payload of payloads) expect(Buffer.byteLength(payload)).toBeLessThanOrEqual(MAX_BUS_MESSAGE_BYTES);
  });

  it('continues each tenant from its last number, and a redelivery keeps the numbers it was given', async () => {
    const tenantId = await fixture.newTenant();
    const { consume } = await sequencer();
    const relay = fixture.relay({}, { batchConsumers: new Map([[REALTIME_TOPIC, consume]]) });
    for (let n = 1; n <= 3; n++) await recordEvent(tenantId, n);
    await relay.drain();
    for (let n = 4; n <= 5; n++) await recordEvent(tenantId, n);
    const pending = await pendingMessages();
    const heard = await listener();
    // Delivered, then delivered again (the relay's deletion of the rows was lost, say): same numbers, no new ones.
    await inPass(consume, pending);
    await inPass(consume, pending);
    expect((await storedLog()).get(tenantId)).toEqual(oneToN(5).map((n) => [n, n]));
    await eventually(() => heard.events.length >= 4);
    expect(heardBy(heard.events, tenantId)).toEqual([[4, 4], [5, 5], [4, 4], [5, 5]]);
  });

  it('is heard only once the pass commits, and neither kept nor heard when it rolls back', async () => {
    const tenantId = await fixture.newTenant();
    const { consume } = await sequencer();
    for (let n = 1; n <= 2; n++) await recordEvent(tenantId, n);
    const pending = await pendingMessages();
    const heard = await listener();
    await inPass(consume, pending, 'ROLLBACK');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(heard.events).toEqual([]);
    expect((await storedLog()).get(tenantId)).toBeUndefined();
    await inPass(consume, pending);
    await eventually(() => heard.events.length >= 2);
    expect(heardBy(heard.events, tenantId)).toEqual([[1, 1], [2, 2]]);
  });

  it('drops an event too large to keep and numbers the rest of the pass without a gap', async () => {
    const [a, b] = [await fixture.newTenant(), await fixture.newTenant()];
    await recordEvent(a, 1);
    await recordEvent(a, 2, { blob: 'x'.repeat(5_000) });
    await recordEvent(b, 1);
    await recordEvent(a, 3);
    const { consume } = await sequencer();
    const relay = fixture.relay({}, { batchConsumers: new Map([[REALTIME_TOPIC, consume]]) });
    expect(await relay.drain()).toBe(4);
    const log = await storedLog();
    expect(log.get(a)).toEqual([[1, 1], [2, 3]]);
    expect(log.get(b)).toEqual([[1, 1]]);
    expect(fixture.logs()).toContain('realtime event data too large to keep; dropped');
  });

  it("with two relays at once, numbers each event once and keeps each tenant's order on the bus", async () => {
    const tenants = await Promise.all(Array.from({ length: 8 }, () => fixture.newTenant()));
    const heard = await listener();
    const poolB = patient(createPool(fixture.database.url, 6, fixture.logger));
    const first = await sequencer();
    const second = await sequencer(poolB);
    // Small passes, so the relays take turns on the tenants and a tenant moves between them.
    const options = { tenantsPerPass: 3, rowsPerTenant: 4, pollIntervalMs: 50 };
    const relays = [
      fixture.relay({}, { ...options, batchConsumers: new Map([[REALTIME_TOPIC, first.consume]]) }),
      fixture.relay({}, { ...options, batchConsumers: new Map([[REALTIME_TOPIC, second.consume]]) }, poolB),
    ];
    for (const relay of relays) relay.start();
    const perTenant = 30;
    try {
      // Writers commit concurrently while both relays run.
      await Promise.all(
        tenants.map(async (tenantId) => {
          for (let n = 1; n <= perTenant; n++) await recordEvent(tenantId, n);
        }),
      );
      await eventually(() => heard.events.length >= tenants.length * perTenant, 30_000);
    } finally {
      for (const relay of relays) await relay.stop();
    }
    expect(heard.events).toHaveLength(tenants.length * perTenant);
    for (const tenantId of tenants) expect(heardBy(heard.events, tenantId)).toEqual(oneToN(perTenant).map((n) => [n, n]));
    const log = await storedLog();
    for (const tenantId of tenants) expect(log.get(tenantId)).toEqual(oneToN(perTenant).map((n) => [n, n]));
    // Both relays did part of the work.
    expect(first.calls.length).toBeGreaterThan(0);
    expect(second.calls.length).toBeGreaterThan(0);
    const delivered = [...first.calls, ...second.calls].flat().map((message) => message.id);
    expect(new Set(delivered).size).toBe(delivered.length);
  });

  it("parses a pass's fixed statements and the numbering statement once per connection, not every pass, and plans the delete for each pass's rows", async () => {
    const tenants = await Promise.all(Array.from({ length: 4 }, () => fixture.newTenant()));
    // One connection, so every pass meets the statements the earlier ones prepared.
    const onePool = patient(createPool(fixture.database.url, 1, fixture.logger));
    const { consume } = await sequencer(onePool);
    const relay = fixture.relay({}, { batchConsumers: new Map([[REALTIME_TOPIC, consume]]) }, onePool);
    const passes = 8;
    // Passes of 15 to 60 rows: enough that PostgreSQL would move the delete to a generic plan.
    for (let pass = 1; pass <= passes; pass++) {
      for (const tenantId of tenants.slice(0, 1 + (pass % tenants.length))) for (let n = 1; n <= 15; n++) await recordEvent(tenantId, pass * 100 + n);
      expect(await relay.drain()).toBe(15 * (1 + (pass % tenants.length)));
    }
    const { rows } = await onePool.query<{ statement: string; generic_plans: string; custom_plans: string }>(
      `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements WHERE name LIKE 'tenantry_%' ORDER BY statement`,
    );
    // Lock, read, delete and the numbering statement, each prepared once on the connection.
    expect(rows.map((row) => row.statement)).toEqual(
      expect.arrayContaining([expect.stringContaining('pg_try_advisory_xact_lock'), expect.stringContaining('CROSS JOIN LATERAL'), expect.stringContaining('DELETE FROM outbox'), expect.stringContaining('realtime_sequences')]),
    );
    expect(rows).toHaveLength(4);
    const numbering = rows.find((row) => row.statement.includes('realtime_sequences'))!;
    expect(Number(numbering.generic_plans) + Number(numbering.custom_plans)).toBe(passes);
    // The delete never takes a generic plan, which would take its arrays for 10 rows.
    const deletion = rows.find((row) => row.statement.includes('DELETE FROM outbox'))!;
    expect({ generic: Number(deletion.generic_plans), custom: Number(deletion.custom_plans) }).toEqual({ generic: 0, custom: passes });
  });
});

describe("a pass's plans as the outbox and the event log grow", () => {
  /**
   * Sequential scans of the outbox and the event log so far. Each connection's counts reach the
   * shared statistics when it goes idle, at most once a second unless asked sooner: the relay's
   * connection is asked, then its next statement finds the flush done.
   */
  async function sequentialScans(relayPool: pg.Pool): Promise<Record<string, number>> {
    await relayPool.query('SELECT pg_stat_force_next_flush()');
    await relayPool.query('SELECT 1');
    const { rows } = await fixture.database.admin.query<{ relname: string; seq_scan: string }>(
      `SELECT relname, seq_scan FROM pg_stat_user_tables WHERE relname IN ('outbox', 'realtime_events') ORDER BY relname`,
    );
    return Object.fromEntries(rows.map((row) => [row.relname, Number(row.seq_scan)]));
  }

  it('never scans them whole, though the plans PostgreSQL kept were made while they were nearly empty', async () => {
    const tenants = await Promise.all(Array.from({ length: 4 }, () => fixture.newTenant()));
    // One connection, so the passes after the growth reuse the plans the early ones left.
    const onePool = patient(createPool(fixture.database.url, 1, fixture.logger));
    const { consume } = await sequencer(onePool);
    const relay = fixture.relay({}, { batchConsumers: new Map([[REALTIME_TOPIC, consume]]) }, onePool);
    // Past the five custom plans, so PostgreSQL keeps generic ones, planned on tiny tables.
    for (let pass = 1; pass <= 8; pass++) {
      for (const tenantId of tenants.slice(0, 1 + (pass % tenants.length))) await recordEvent(tenantId, pass);
      await relay.drain();
    }
    const { rows: kept } = await onePool.query<{ generic_plans: string }>(`SELECT generic_plans FROM pg_prepared_statements WHERE name LIKE 'tenantry_%'`);
    expect(kept.filter((row) => Number(row.generic_plans) > 0).length).toBeGreaterThan(0);
    // A busy hour's worth: 2,000 tenants' event logs and outbox churn (rows delivered and deleted), not analyzed yet.
    await fixture.database.admin.query(`
      INSERT INTO tenants (id, name, slug) SELECT gen_random_uuid(), 'Grown ' || g, 'grown-' || g FROM generate_series(1, 2000) g;
      INSERT INTO realtime_events (tenant_id, seq, outbox_id, channel, type, data)
        SELECT t.id, g, gen_random_uuid(), 'tasks', 'task.updated', jsonb_build_object('tenant', t.id, 'n', g) FROM tenants t CROSS JOIN generate_series(1, 25) g WHERE t.slug LIKE 'grown-%';
      INSERT INTO outbox (tenant_id, id, topic) SELECT t.id, gen_random_uuid(), 'churn' FROM tenants t CROSS JOIN generate_series(1, 5) g WHERE t.slug LIKE 'grown-%';
      DELETE FROM outbox WHERE topic = 'churn';
    `);
    const before = await sequentialScans(onePool);
    for (let pass = 1; pass <= 3; pass++) {
      for (const tenantId of tenants) await recordEvent(tenantId, 100 + pass);
      expect(await relay.drain()).toBe(tenants.length);
    }
    const after = await sequentialScans(onePool);
    expect({ outbox: after.outbox! - before.outbox!, realtime_events: after.realtime_events! - before.realtime_events! }).toEqual({ outbox: 0, realtime_events: 0 });
    expect((await storedLog()).get(tenants[0]!)?.at(-1)?.[1]).toBe(103);
  });
});
