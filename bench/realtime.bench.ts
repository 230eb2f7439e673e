// npm run bench:realtime: two production servers (startServer, each with its outbox relay) on
// one database share the realtime bus; this process holds the client sockets, spread over
// both, and commits events at a steady rate. Measured: sockets held, events fanned out per
// second, latency from commit to socket (p50/p99), and deliveries to a socket of another
// tenant (must be zero), gaps and repeats per socket. Results: bench/results/realtime.{json,md}.
//
// Events are committed the way publishRealtimeEvent() commits them (an outbox row in a
// transaction of its own, then the relay woken), straight through SQL from this process, so
// the HTTP write path's cost is not in the figures: only outbox -> relay -> sequencer -> bus
// -> hub -> socket is.
//
// Knobs: BENCH_TENANTS (1000), BENCH_SOCKETS_PER_TENANT (10), BENCH_RATE (events/s, 1000),
// BENCH_SECONDS (20).

import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import pg from 'pg';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import { machine, migrateBenchDatabase, openBenchDatabase, startBenchServer, stopBenchServer } from './support/bench-harness.js';
import { benchSignUp } from './support/bench-sign-up.js';
import type { ChildProcess } from 'node:child_process';

const TENANTS = Number(process.env.BENCH_TENANTS ?? 1000);
const SOCKETS_PER_TENANT = Number(process.env.BENCH_SOCKETS_PER_TENANT ?? 10);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);

interface BenchTenant {
  readonly id: string;
  readonly apiKey: string;
  readonly accessToken: string;
}

interface SocketTally {
  tenantId: string;
  received: number;
  foreign: number;
  gaps: number;
  repeats: number;
  lastSeq: number | undefined;
}

const latencies: number[] = [];
/** How long each event's commit took, from sending it to its acknowledgement (part of its latency). */
const commits: number[] = [];

/** Set-up requests; a 503 (a busy machine's database) is retried after its Retry-After. */
async function post(base: string, url: string, body: unknown, token?: string): Promise<Record<string, any>> {
  for (let attempt = 1; ; attempt += 1) {
    const response = await fetch(base + url, {
      method: url === '/v1/tenant/plan' ? 'PATCH' : 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    if (response.ok) return (await response.json()) as Record<string, any>;
    if (response.status !== 503 || attempt >= 10) throw new Error(`${url}: ${response.status} ${await response.text()}`);
    await response.text();
    await new Promise((resolve) => setTimeout(resolve, 1_000 * attempt));
  }
}

async function inBatches<T>(items: readonly T[], width: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index]!, index);
      }
    }),
  );
}

/** As a real client does: a 503 (the server shed the upgrade) is retried after a pause. */
async function openSocket(base: string, tenant: BenchTenant, tally: SocketTally): Promise<WebSocket> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await openSocketOnce(base, tenant, tally);
    } catch (error) {
      if (attempt >= 10 || !String(error).includes('503')) throw error;
      retries += 1;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

let retries = 0;

function openSocketOnce(base: string, tenant: BenchTenant, tally: SocketTally): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/realtime?channels=tasks`, { headers: { authorization: `Bearer ${tenant.apiKey}` } });
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { type: string; seq?: number; at?: number; data?: { tenant?: string } };
      if (message.type !== 'event') return;
      const now = Date.now();
      tally.received += 1;
      if (message.data?.tenant !== tally.tenantId) tally.foreign += 1;
      if (tally.lastSeq !== undefined) {
        if (message.seq! <= tally.lastSeq) tally.repeats += 1;
        else if (message.seq! > tally.lastSeq + 1) tally.gaps += 1;
      }
      tally.lastSeq = message.seq!;
      latencies.push(now - message.at!);
    });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
    socket.once('error', reject);
  });
}

function lateBy(histogram: IntervalHistogram, p: number): number {
  return Number(Math.max(0, histogram.percentile(p) / 1e6 - 10).toFixed(1));
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function main(): Promise<void> {
  const database = await openBenchDatabase();
  const servers: ChildProcess[] = [];
  const sockets: WebSocket[] = [];
  // As many connections as committing workers (16, below): an event's time is taken as its
  // commit is sent, not while it queues for a connection of the bench's own.
  const admin = new pg.Pool({ connectionString: database.url, max: 16 });
  const waker = new pg.Client({ connectionString: database.url });
  try {
    await waker.connect();
    const roles = loadConfig({ TENANTRY_JWT_SECRET: 'x'.repeat(32), DATABASE_URL: database.url }).roles;
    const env = {
      NODE_ENV: 'production',
      ...(await migrateBenchDatabase(database.url, roles)),
      TENANTRY_JWT_SECRET: randomBytes(32).toString('hex'),
      // Sign-up of 1,000 tenants from one address is not what the throttle is for.
      TENANTRY_RATE_LIMITS: 'false',
      TENANTRY_MAX_EVENT_LOOP_DELAY_MS: '0',
    };
    const a = await startBenchServer(env, 'bench/support/tenantry-server.mjs');
    servers.push(a.child);
    const b = await startBenchServer(env, 'bench/support/tenantry-server.mjs');
    servers.push(b.child);
    const bases = [a.address, b.address];
    console.log(`servers at ${bases.join(' and ')}; signing up ${TENANTS} tenants`);

    const tenants: BenchTenant[] = [];
    await inBatches(Array.from({ length: TENANTS }, (_, index) => index), 8, async (index) => {
      const slug = `rt-${index}-${randomBytes(3).toString('hex')}`;
      const base = bases[index % 2]!;
      const body = await benchSignUp(base, admin, { name: `Tenant ${index}`, slug, email: `${slug}@example.test`, password: 'correct horse battery staple' });
      // Ten sockets a tenant are past the free plan's five: the tenants move to pro (25).
      await post(base, '/v1/tenant/plan', { plan: 'pro' }, body.accessToken);
      tenants.push({ id: body.tenant.id, apiKey: body.apiKey.key, accessToken: body.accessToken });
    });

    console.log(`opening ${TENANTS * SOCKETS_PER_TENANT} sockets`);
    const tallies: SocketTally[] = [];
    const openStarted = performance.now();
    // Round by round (one socket of every tenant, then the next), so each credential's first
    // upgrade fills the instance's access cache before its others arrive.
    const plan = Array.from({ length: SOCKETS_PER_TENANT }, (_, index) => tenants.map((tenant) => ({ tenant, index }))).flat();
    await inBatches(plan, 16, async ({ tenant, index }) => {
      const tally: SocketTally = { tenantId: tenant.id, received: 0, foreign: 0, gaps: 0, repeats: 0, lastSeq: undefined };
      tallies.push(tally);
      sockets.push(await openSocket(bases[index % 2]!, tenant, tally));
    });
    const openSeconds = (performance.now() - openStarted) / 1000;
    console.log(`${sockets.length} sockets open in ${openSeconds.toFixed(1)} s`);

    // Let presence and the first verification passes settle before measuring.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const load = loadavg()[0];
    console.log(`committing ${RATE} events/s for ${SECONDS} s`);
    // A server's commit wakes its own relay in memory (src/outbox/local-relays.ts), and a relay
    // woken during a pass runs another after it. From this process the nearest thing is a
    // NOTIFY sent right after a commit, at most one in flight (commits meanwhile ride on the
    // next), in a transaction of its own that waits for no WAL flush. (A NOTIFY inside each
    // writing transaction would serialise the commits, which the server no longer does.)
    let notifying = false;
    let notifyAgain = false;
    const wakeRelays = (): void => {
      if (notifying) {
        notifyAgain = true;
        return;
      }
      notifying = true;
      notifyAgain = false;
      void waker
        .query(`BEGIN; SET LOCAL synchronous_commit TO off; SELECT pg_notify('tenantry_outbox', ''); COMMIT`)
        .catch((error: unknown) => console.error('wake-up NOTIFY failed', error))
        .finally(() => {
          notifying = false;
          if (notifyAgain) wakeRelays();
        });
    };
    const expected = new Map<string, number>();
    // This process receives every delivery: a late event loop here is latency the servers did not add.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const total = RATE * SECONDS;
    const started = performance.now();
    let committed = 0;
    await inBatches(Array.from({ length: total }, (_, index) => index), 16, async (index) => {
      // Paced: event n is committed no earlier than n / RATE seconds after the start.
      const due = started + (index * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const tenant = tenants[Math.floor(Math.random() * tenants.length)]!;
      const payload = { channel: 'tasks', type: 'task.updated', data: { id: randomUUID(), tenant: tenant.id }, agentId: null, at: Date.now() };
      const sent = performance.now();
      await admin.query(`INSERT INTO outbox (tenant_id, id, topic, payload) VALUES ($1, $2, 'realtime.event', $3)`, [tenant.id, randomUUID(), payload]);
      commits.push(performance.now() - sent);
      wakeRelays();
      committed += 1;
      expected.set(tenant.id, (expected.get(tenant.id) ?? 0) + 1);
    });
    const commitSeconds = (performance.now() - started) / 1000;
    const wanted = [...expected.values()].reduce((sum, count) => sum + count, 0) * SOCKETS_PER_TENANT;
    const deadline = performance.now() + 30_000;
    const received = () => tallies.reduce((sum, tally) => sum + tally.received, 0);
    while (received() < wanted && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const drainSeconds = (performance.now() - started) / 1000;
    loopDelay.disable();

    const sorted = [...latencies].sort((x, y) => x - y);
    const sortedCommits = [...commits].sort((x, y) => x - y);
    const held = sockets.filter((socket) => socket.readyState === WebSocket.OPEN).length;
    const missing = tallies.reduce((sum, tally) => sum + Math.max(0, (expected.get(tally.tenantId) ?? 0) - tally.received), 0);
    const result = {
      at: new Date().toISOString(),
      machine: { ...machine(), loadAverageAtStart: load },
      settings: { tenants: TENANTS, socketsPerTenant: SOCKETS_PER_TENANT, rate: RATE, seconds: SECONDS, instances: 2, bus: 'postgres LISTEN/NOTIFY' },
      socketsOpened: sockets.length,
      socketsHeldAtEnd: held,
      secondsToOpen: Number(openSeconds.toFixed(1)),
      upgradesRetriedAfter503: retries,
      eventsCommitted: committed,
      commitRate: Number((committed / commitSeconds).toFixed(0)),
      deliveriesExpected: wanted,
      deliveriesReceived: received(),
      deliveriesMissing: missing,
      deliveriesPerSecond: Number((received() / drainSeconds).toFixed(0)),
      // The histogram holds the interval between samples: an idle loop reads as its 10 ms resolution.
      benchEventLoopDelayMs: { p50: lateBy(loopDelay, 50), p99: lateBy(loopDelay, 99) },
      commitMs: { p50: Number(percentile(sortedCommits, 50).toFixed(1)), p99: Number(percentile(sortedCommits, 99).toFixed(1)) },
      latencyMs: { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN },
      crossTenantDeliveries: tallies.reduce((sum, tally) => sum + tally.foreign, 0),
      gaps: tallies.reduce((sum, tally) => sum + tally.gaps, 0),
      repeats: tallies.reduce((sum, tally) => sum + tally.repeats, 0),
      targets: { sockets: 10_000, p99Ms: 50, rate: 1_000, crossTenantDeliveries: 0 },
    };
    console.log(JSON.stringify(result, null, 2));
    await mkdir('bench/results', { recursive: true });
    await writeFile('bench/results/realtime.json', JSON.stringify(result, null, 2) + '\n');
    await writeFile('bench/results/realtime.md', report(result));
  } finally {
    for (const socket of sockets) socket.terminate();
    await admin.end();
    await waker.end().catch(() => {});
    for (const child of servers) await stopBenchServer(child);
    await database.drop();
  }
}

function report(result: Record<string, any>): string {
  const met = (ok: boolean) => (ok ? 'met' : 'missed');
  return `# bench:realtime

${result.at}, ${result.machine.cpus} × ${result.machine.model}, Node ${result.machine.node}, load average ${Number(result.machine.loadAverageAtStart).toFixed(2)} at start.
Two production servers on one database, bus ${result.settings.bus}; ${result.settings.tenants} tenants × ${result.settings.socketsPerTenant} sockets, half on each server; events committed to the outbox at ${result.settings.rate}/s for ${result.settings.seconds} s, each to a random tenant.

| Figure | Value | Target |
| --- | --- | --- |
| Sockets opened / held at the end | ${result.socketsOpened} / ${result.socketsHeldAtEnd} (opened in ${result.secondsToOpen} s, ${result.upgradesRetriedAfter503} upgrades retried after 503) | 10,000 (${met(result.socketsHeldAtEnd >= 10_000)}) |
| Events committed | ${result.eventsCommitted} (${result.commitRate}/s) | 1,000/s |
| Deliveries received / expected | ${result.deliveriesReceived} / ${result.deliveriesExpected} (${result.deliveriesPerSecond}/s fanned out) | all |
| A commit's own time p50 / p99 (part of the latency) | ${result.commitMs.p50} / ${result.commitMs.p99} ms | |
| The bench process's event-loop delay p50 / p99 (part of the latency) | ${result.benchEventLoopDelayMs.p50} / ${result.benchEventLoopDelayMs.p99} ms | |
| Commit-to-socket latency p50 / p90 / p99 / max | ${result.latencyMs.p50} / ${result.latencyMs.p90} / ${result.latencyMs.p99} / ${result.latencyMs.max} ms | p99 < 50 ms (${met(result.latencyMs.p99 < 50)}) |
| Deliveries to another tenant's socket | ${result.crossTenantDeliveries} | 0 (${met(result.crossTenantDeliveries === 0)}) |
| Gaps / repeats seen by sockets | ${result.gaps} / ${result.repeats} | 0 |
`;
}

await main();
