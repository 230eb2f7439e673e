// npm run bench:realtime-relay: the realtime path from outbox to bus alone (outbox ->
// relay -> sequencer -> bus), without HTTP, sign-ups or sockets, so it runs in seconds and shows
// what the relay itself costs. Two relays (two servers' worth: each its own service pool and
// bus connection) work one outbox; a third bus connection listens as a hub would.
//
// Measured: (1) a backlog of BENCH_BACKLOG events across BENCH_TENANTS tenants drained, events
// per second; (2) BENCH_RATE events/s committed for BENCH_SECONDS the way publishRealtimeEvent()
// commits them, latency from commit to the bus listener (p50/p99); gaps, repeats and events
// heard under another tenant are counted (must be zero). The steady phase runs twice, waking the
// relays by a NOTIFY in each commit (as before) and in memory after it (as now), for a ratio
// taken under one load.

import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../src/config.js';
import { createPool } from '../src/db/database.js';
import type { OutboxBatchConsumer } from '../src/outbox/outbox-message.js';
import { wakeLocalRelays } from '../src/outbox/local-relays.js';
import { OutboxRelay } from '../src/outbox/outbox-relay.js';
import { eventSequencer } from '../src/realtime/event-sequencer.js';
import { PostgresBus } from '../src/realtime/postgres-bus.js';
import { REALTIME_TOPIC, type SequencedEvent } from '../src/realtime/realtime-event.js';
import { machine, migrateBenchDatabase, openBenchDatabase } from './support/bench-harness.js';

const TENANTS = Number(process.env.BENCH_TENANTS ?? 1000);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 20_000);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WRITERS = 16;
const CHANNEL = 'tenantry_realtime';

const logger = pino({ level: 'warn' }, pino.destination(2));

function summary(values: number[]): { p50: number; p99: number } {
  const sorted = [...values].sort((x, y) => x - y);
  return { p50: Number(percentile(sorted, 50).toFixed(1)), p99: Number(percentile(sorted, 99).toFixed(1)) };
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

async function main(): Promise<void> {
  const database = await openBenchDatabase();
  const roles = loadConfig({ TENANTRY_JWT_SECRET: 'x'.repeat(32), DATABASE_URL: database.url }).roles;
  const env = await migrateBenchDatabase(database.url, roles);
  const admin = new pg.Pool({ connectionString: database.url, max: WRITERS });
  // Dropping the database at the end ends its idle connections.
  admin.on('error', () => {});
  const pools = [createPool(env.TENANTRY_SERVICE_DATABASE_URL!, 4, logger), createPool(env.TENANTRY_SERVICE_DATABASE_URL!, 4, logger)];
  const buses: PostgresBus[] = [];
  const relays: OutboxRelay[] = [];
  try {
    const { rows } = await admin.query<{ id: string }>(
      `INSERT INTO tenants (id, name, slug) SELECT gen_random_uuid(), 'Relay ' || n, 'relay-' || n FROM generate_series(1, $1) n RETURNING id`,
      [TENANTS],
    );
    const tenants = rows.map((row) => row.id);

    // The listener: what a hub hears, checked per tenant for gaps and repeats.
    const heard: SequencedEvent[] = [];
    const sequencing: Array<{ ms: number; events: number }> = [];
    const commits: number[] = [];
    const last = new Map<string, number>();
    let gaps = 0;
    let repeats = 0;
    let foreign = 0;
    let messages = 0;
    const listener = new PostgresBus(pools[0]!.options, CHANNEL, logger);
    buses.push(listener);
    listener.start({
      onMessage: (message) => {
        if (message.kind !== 'events') return;
        messages += 1;
        const now = Date.now();
        for (const event of message.events) {
          if (event.data.tenant !== event.tenantId) foreign += 1;
          const before = last.get(event.tenantId) ?? 0;
          if (event.seq <= before) repeats += 1;
          else if (event.seq > before + 1) gaps += 1;
          last.set(event.tenantId, Math.max(before, event.seq));
          heard.push({ ...event, at: now - event.at });
        }
      },
      onResync: () => {},
    });
    for (const pool of pools) {
      const bus = new PostgresBus(pool.options, CHANNEL, logger);
      buses.push(bus);
      bus.start({ onMessage: () => {}, onResync: () => {} });
      const inner = eventSequencer({ bus, logger, retention: 1_000, channels: new Set(['tasks']) });
      // Timed from outside: how long a pass's numbering and publishing take, and how many events it carries.
      const sequencer: OutboxBatchConsumer = async (batch, pass) => {
        const begun = performance.now();
        await inner(batch, pass);
        sequencing.push({ ms: performance.now() - begun, events: batch.length });
      };
      relays.push(new OutboxRelay({ pool, serviceRole: roles.service, logger, consumers: new Map(), batchConsumers: new Map([[REALTIME_TOPIC, sequencer]]) }));
    }
    await until(() => buses.every((bus) => bus.connected), 10_000);

    // (1) A backlog, written at once, then drained by both relays.
    const payload = (tenant: string) => ({ channel: 'tasks', type: 'task.updated', data: { id: randomUUID(), tenant }, agentId: null, at: Date.now() });
    const backlog = Array.from({ length: BACKLOG }, (_, index) => tenants[index % tenants.length]!);
    await admin.query(
      `INSERT INTO outbox (tenant_id, id, topic, payload) SELECT t, gen_random_uuid(), $2, p FROM unnest($1::uuid[], $3::jsonb[]) AS u (t, p)`,
      [backlog, REALTIME_TOPIC, backlog.map((tenant) => JSON.stringify(payload(tenant)))],
    );
    const drainStarted = performance.now();
    for (const relay of relays) relay.start();
    const drained = await until(() => heard.length >= BACKLOG, 120_000);
    const drainSeconds = (performance.now() - drainStarted) / 1000;
    const backlogMessages = messages;
    console.log(`backlog: ${heard.length}/${BACKLOG} events in ${drainSeconds.toFixed(2)} s (${(heard.length / drainSeconds).toFixed(0)}/s), ${backlogMessages} bus messages${drained ? '' : ' (timed out)'}`);

    // (2) A steady rate, each event its own transaction (with the relay's NOTIFY), on dedicated writers.
    // The steady phase twice in the same run, on the same relays, so the two wake-ups compare
    // under the same load: "notify" commits the outbox row with a NOTIFY in its transaction (how
    // recordEffect woke the relays before; PostgreSQL serialises such commits), "memory" commits
    // the row alone and then wakes this process's relays in memory, as recordEffect does now
    // when a relay runs in the process (src/outbox/local-relays.ts).
    const load = loadavg()[0]!;
    const steady: Record<string, unknown> = {};
    for (const wake of ['notify', 'memory'] as const) {
      heard.length = 0;
      sequencing.length = 0;
      commits.length = 0;
      const writers = await Promise.all(Array.from({ length: WRITERS }, () => admin.connect()));
      const total = RATE * SECONDS;
      let next = 0;
      const started = performance.now();
      await Promise.all(
        writers.map(async (client) => {
          while (next < total) {
            const index = next++;
            const wait = started + (index * 1000) / RATE - performance.now();
            if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
            const tenant = tenants[Math.floor(Math.random() * tenants.length)]!;
            const begun = performance.now();
            if (wake === 'notify') {
              await client.query(
                `WITH o AS (INSERT INTO outbox (tenant_id, id, topic, payload) VALUES ($1, $2, 'realtime.event', $3) RETURNING 1)
                 SELECT pg_notify('tenantry_outbox', '') FROM o`,
                [tenant, randomUUID(), payload(tenant)],
              );
            } else {
              await client.query(`INSERT INTO outbox (tenant_id, id, topic, payload) VALUES ($1, $2, 'realtime.event', $3)`, [tenant, randomUUID(), payload(tenant)]);
              wakeLocalRelays();
            }
            commits.push(performance.now() - begun);
          }
        }),
      );
      const commitSeconds = (performance.now() - started) / 1000;
      for (const client of writers) client.release();
      await until(() => heard.length >= total, 30_000);
      const sorted = heard.map((event) => event.at).sort((x, y) => x - y);
      steady[wake] = {
        loadAverageAtStart: Number(loadavg()[0]!.toFixed(2)),
        rateAsked: RATE,
        committed: total,
        commitRate: Math.round(total / commitSeconds),
        heard: heard.length,
        latencyMs: { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN },
        commitMs: summary(commits),
        sequencerCalls: { count: sequencing.length, eventsPerCall: Number((sequencing.reduce((sum, call) => sum + call.events, 0) / sequencing.length).toFixed(1)), ms: summary(sequencing.map((call) => call.ms)) },
      };
      console.log(wake, JSON.stringify(steady[wake]));
    }
    const result = {
      at: new Date().toISOString(),
      machine: { ...machine(), loadAverageAtStart: load },
      tenants: TENANTS,
      backlog: { events: BACKLOG, seconds: Number(drainSeconds.toFixed(2)), perSecond: Math.round(BACKLOG / drainSeconds), busMessages: backlogMessages },
      steady,
      gaps,
      repeats,
      foreign,
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    for (const relay of relays) await relay.stop();
    for (const bus of buses) await bus.close();
    for (const pool of pools) await pool.end();
    await admin.end();
    await database.drop();
  }
}

await main();
