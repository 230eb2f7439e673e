// npm run bench:realtime: two production servers (startServer, each with its outbox relay) on
// one database share the realtime bus; client processes (bench/support/realtime-clients.ts)
// hold the sockets, spread over both servers, and this process commits events at a steady
// rate. Measured: sockets held, events fanned out per second, latency from commit to socket
// (p50/p90/p99), and deliveries to a socket of another tenant (must be zero), gaps and repeats
// per socket. Results: bench/results/realtime.{json,md}.
//
// Events are committed the way publishRealtimeEvent() commits them (an outbox row in a
// transaction of its own, then the relay woken), straight through SQL from this process, so
// the HTTP write path's cost is not in the figures: only outbox -> relay -> sequencer -> bus
// -> hub -> socket is. After each commit one server's relay is woken in memory, the servers
// taking turns, by a byte on its stdin (tenantry-server.mjs's BENCH_WAKE_ON_STDIN), as a
// server's own commit wakes its own relay; the other server hears of the events on the bus, as
// in production. BENCH_WAKE=notify wakes both by a NOTIFY instead (the bench before
// 2026-12-04), for comparison.
//
// Where the time goes, per event: the commit (sent -> acknowledged), then the servers' relay,
// sequencer and bus (acknowledged -> heard on the bus by a listener of this process), then
// the hubs and sockets (heard on the bus -> received by the client). Every time is read on
// benchClock() (bench/support/bench-clock.ts), valid across the processes.
//
// PostgreSQL's CPU is split by who it served: the servers' backends and the bench's own
// connections (told apart by application_name), background processes (checkpointer, WAL
// writer, autovacuum) and other databases' connections (on a shared server).
//
// Knobs: BENCH_TENANTS (1000), BENCH_SOCKETS_PER_TENANT (10), BENCH_RATE (events/s, 1000),
// BENCH_SECONDS (20), BENCH_WARM_UP_SECONDS (5), BENCH_CLIENT_PROCESSES (2), BENCH_WAKE (stdin | notify),
// BENCH_CPU_PROFILE (a file name with {pid} in it: each server's CPU profile of the measurement).
//
// The measured events follow a warm-up at the same rate (BENCH_WARM_UP_SECONDS), once every
// delivery of it has arrived: the figures are a server's that has been serving. The warm-up's
// latency is reported on its own line; its deliveries are checked like every other.

import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { machine, migrateBenchDatabase, openBenchDatabase, startBenchServer, stopBenchServer } from './support/bench-harness.js';
import { benchClock } from './support/bench-clock.js';
import { benchSignUp } from './support/bench-sign-up.js';
import { withApplicationName } from './support/server-meter.js';
import type { ClientAnswer, ClientReport, ClientRequest, ClientSocketPlan } from './support/realtime-clients.js';

const TENANTS = Number(process.env.BENCH_TENANTS ?? 1000);
const SOCKETS_PER_TENANT = Number(process.env.BENCH_SOCKETS_PER_TENANT ?? 10);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
/** Seconds of events at the same rate just before the measured ones, reported apart (below). */
const WARM_UP_SECONDS = Number(process.env.BENCH_WARM_UP_SECONDS ?? 5);
const CLIENT_PROCESSES = Number(process.env.BENCH_CLIENT_PROCESSES ?? 2);
const BUS_CHANNEL = 'tenantry_realtime';
const WAKE = process.env.BENCH_WAKE ?? 'stdin';
if (WAKE !== 'stdin' && WAKE !== 'notify') throw new Error(`BENCH_WAKE must be stdin or notify, not ${WAKE}`);
/** What the servers' connections and the bench's own report, so their backends can be told apart. */
const SERVER_APPLICATION = 'realtime-bench-server';
const BENCH_APPLICATION = 'realtime-bench';

interface BenchTenant {
  readonly id: string;
  readonly apiKey: string;
  readonly accessToken: string;
}

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

interface Waiter {
  readonly resolve: (answer: ClientAnswer) => void;
  readonly reject: (error: Error) => void;
}

/** A client process, asked one thing at a time. */
class ClientProcess {
  readonly child: ChildProcess;
  #waiting: Waiter | undefined;

  constructor() {
    this.child = fork('bench/support/realtime-clients.ts', [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const settle = (): Waiter | undefined => {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      return waiting;
    };
    this.child.on('message', (answer: ClientAnswer) => settle()?.resolve(answer));
    this.child.on('exit', (code) => settle()?.reject(new Error(`client process exited (${code})`)));
  }

  async ask<T extends ClientAnswer['type']>(request: ClientRequest, expected: T): Promise<Extract<ClientAnswer, { type: T }>> {
    const answer = await new Promise<ClientAnswer>((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.child.send(request);
    });
    if (answer.type !== expected) throw new Error(`client process: ${answer.type === 'failed' ? answer.error : answer.type}`);
    return answer as Extract<ClientAnswer, { type: T }>;
  }

  /** Asks it to close its sockets and exit; kills it if it has not within 5 s. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ type: 'close' } satisfies ClientRequest);
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  /**
   * How far its clock is from ours: its reading against the middle of our two around it (to
   * within half the round trip), and how far it fell outside them. Processes started at
   * different times can disagree when the host's wall clock moved in between (seen: 100-270
   * ms on a VM), so its readings are corrected by the offset before they are compared to ours.
   */
  async clockOffset(): Promise<{ offsetMs: number; outsideMs: number; roundTripMs: number }> {
    const before = benchClock();
    const { now } = await this.ask({ type: 'clock' }, 'clock');
    const after = benchClock();
    return { offsetMs: now - (before + after) / 2, outsideMs: Math.max(0, before - now, now - after), roundTripMs: after - before };
  }
}

/** CPU seconds (user and system) a process has used so far, from /proc (Linux); 0 once it has gone. */
async function cpuSecondsOf(pid: number | undefined): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // After the command's closing parenthesis: state is field 3, utime 14 and stime 15, in ticks of 1/100 s.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function percentile(sorted: ArrayLike<number>, p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

function spread(values: number[]): { p50: number; p90: number; p99: number; max: number } {
  const sorted = Float64Array.from(values.filter((value) => !Number.isNaN(value))).sort();
  const round = (value: number) => Number(value.toFixed(1));
  return { p50: round(percentile(sorted, 50)), p90: round(percentile(sorted, 90)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1) ?? NaN) };
}

type PostgresPart = 'servers' | 'bench' | 'background' | 'otherDatabases';

interface PostgresProcess {
  readonly pid: number;
  readonly datname: string | null;
  readonly application_name: string;
  readonly backend_type: string;
}

/** Who a process of the cluster works for: a backend by its connection's name and database, the rest is background. */
function partOf(backend: PostgresProcess, database: string): PostgresPart {
  if (backend.backend_type !== 'client backend') return 'background';
  if (backend.datname !== database) return 'otherDatabases';
  if (backend.application_name === SERVER_APPLICATION) return 'servers';
  // The bench's own, and any other connection to its database (none is expected).
  return 'bench';
}

/**
 * CPU seconds the cluster's processes used from start() on, by part. pg_stat_activity is
 * sampled every half second, so a process that starts and exits in between (an autovacuum
 * worker, a short connection) counts up to its last sample; one that started after start()
 * counts whole.
 */
class PostgresCpu {
  readonly #startCpu = new Map<number, number>();
  readonly #latest = new Map<number, { part: PostgresPart; seconds: number }>();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly admin: pg.Pool) {}

  async start(): Promise<void> {
    for (const [pid, { seconds }] of await this.#read()) this.#startCpu.set(pid, seconds);
    this.#timer = setInterval(() => void this.sample().catch(() => {}), 500);
  }

  async sample(): Promise<void> {
    for (const [pid, reading] of await this.#read()) if (reading.seconds > 0) this.#latest.set(pid, reading);
  }

  /** Takes a last sample and answers the seconds used by part. */
  async stop(): Promise<Record<PostgresPart, number>> {
    clearInterval(this.#timer);
    await this.sample();
    const used: Record<PostgresPart, number> = { servers: 0, bench: 0, background: 0, otherDatabases: 0 };
    for (const [pid, { part, seconds }] of this.#latest) used[part] += seconds - (this.#startCpu.get(pid) ?? 0);
    return used;
  }

  async #read(): Promise<Map<number, { part: PostgresPart; seconds: number }>> {
    const { rows } = await this.admin.query<PostgresProcess & { database: string }>(
      'SELECT pid, datname, application_name, backend_type, current_database() AS database FROM pg_stat_activity',
    );
    return new Map(await Promise.all(rows.map(async (row) => [row.pid, { part: partOf(row, row.database), seconds: await cpuSecondsOf(row.pid) }] as const)));
  }
}

/** Scans of the tables a relay pass reads, as this database's statistics count them. */
async function tableScans(admin: pg.Pool): Promise<Record<string, Record<string, number>>> {
  const { rows } = await admin.query<{ relname: string; seq_scan: string; seq_tup_read: string; idx_scan: string; idx_tup_fetch: string }>(
    `SELECT relname, seq_scan, seq_tup_read, idx_scan, idx_tup_fetch FROM pg_stat_user_tables WHERE relname IN ('outbox', 'realtime_events', 'realtime_sequences')`,
  );
  return Object.fromEntries(
    rows.map((row) => [row.relname, { seqScans: Number(row.seq_scan), rowsSeqRead: Number(row.seq_tup_read), indexScans: Number(row.idx_scan), rowsIndexFetched: Number(row.idx_tup_fetch) }]),
  );
}

async function main(): Promise<void> {
  const database = await openBenchDatabase();
  const servers: ChildProcess[] = [];
  const clients: ClientProcess[] = [];
  // As many connections as committing workers (16, below): an event's time is taken as its
  // commit is sent, not while it queues for a connection of the bench's own.
  const benchUrl = withApplicationName(database.url, BENCH_APPLICATION);
  const admin = new pg.Pool({ connectionString: benchUrl, max: 16 });
  /** Transactions the bench database has committed, as its backends last reported them. */
  const databaseCommits = async (): Promise<number> =>
    Number((await admin.query<{ commits: string }>('SELECT xact_commit AS commits FROM pg_stat_database WHERE datname = current_database()')).rows[0]!.commits);
  /** CPU seconds used so far by the servers, the client processes and this one (PostgreSQL's: PostgresCpu). */
  const cpuSnapshot = async () => {
    const sum = async (pids: Array<number | undefined>) => (await Promise.all(pids.map(cpuSecondsOf))).reduce((total, seconds) => total + seconds, 0);
    const own = process.cpuUsage();
    return {
      servers: await sum(servers.map((child) => child.pid)),
      clients: await sum(clients.map((client) => client.child.pid)),
      producer: (own.user + own.system) / 1e6,
    };
  };
  const postgresCpu = new PostgresCpu(admin);
  const waker = new pg.Client({ connectionString: benchUrl });
  const listener = new pg.Client({ connectionString: benchUrl });
  try {
    await waker.connect();
    await listener.connect();
    const roles = loadConfig({ TENANTRY_JWT_SECRET: 'x'.repeat(32), DATABASE_URL: database.url }).roles;
    const databaseEnv = await migrateBenchDatabase(database.url, roles);
    const env = {
      NODE_ENV: 'production',
      // Every connection of the servers carries the name, so their backends' CPU is told apart.
      ...Object.fromEntries(Object.entries(databaseEnv).map(([name, url]) => [name, withApplicationName(url, SERVER_APPLICATION)])),
      TENANTRY_JWT_SECRET: randomBytes(32).toString('hex'),
      // Sign-up of 1,000 tenants from one address is not what the throttle is for.
      TENANTRY_RATE_LIMITS: 'false',
      TENANTRY_MAX_EVENT_LOOP_DELAY_MS: '0',
      TENANTRY_REALTIME_CHANNEL: BUS_CHANNEL,
      ...(WAKE === 'stdin' ? { BENCH_WAKE_ON_STDIN: '1' } : {}),
    };
    const a = await startBenchServer(env, 'bench/support/tenantry-server.mjs', { stdin: WAKE === 'stdin' });
    servers.push(a.child);
    const b = await startBenchServer(env, 'bench/support/tenantry-server.mjs', { stdin: WAKE === 'stdin' });
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

    console.log(`opening ${TENANTS * SOCKETS_PER_TENANT} sockets from ${CLIENT_PROCESSES} client processes`);
    for (let index = 0; index < CLIENT_PROCESSES; index += 1) clients.push(new ClientProcess());
    // Round by round (one socket of every tenant, then the next), so each credential's first
    // upgrade fills the instance's access cache before its others arrive; socket i goes to
    // client process i mod n, and to server (round mod 2).
    const plan: ClientSocketPlan[] = Array.from({ length: SOCKETS_PER_TENANT }, (_, round) =>
      tenants.map((tenant) => ({ url: bases[round % 2]!.replace(/^http/, 'ws'), apiKey: tenant.apiKey, tenantId: tenant.id })),
    ).flat();
    const openStarted = performance.now();
    const opened = await Promise.all(
      clients.map((client, index) =>
        client.ask({ type: 'open', sockets: plan.filter((_, socket) => socket % clients.length === index), width: Math.ceil(16 / clients.length) }, 'opened'),
      ),
    );
    const openSeconds = (performance.now() - openStarted) / 1000;
    const socketsOpened = opened.reduce((sum, answer) => sum + answer.count, 0);
    console.log(`${socketsOpened} sockets open in ${openSeconds.toFixed(1)} s`);
    const clockChecks: Array<Awaited<ReturnType<ClientProcess['clockOffset']>>> = [];
    for (const client of clients) clockChecks.push(await client.clockOffset());

    // The warm-up's events are numbered 0 to warm - 1, the measured ones from warm on.
    const warm = RATE * WARM_UP_SECONDS;
    const total = RATE * SECONDS;
    // Per event (its number n, in data.n): when its commit was sent and acknowledged, and when
    // this process first heard it on the bus, all on benchClock().
    const sentAt = new Float64Array(warm + total).fill(NaN);
    const ackAt = new Float64Array(warm + total).fill(NaN);
    const heardAt = new Float64Array(warm + total).fill(NaN);
    listener.on('notification', (notification) => {
      const now = benchClock();
      const message = JSON.parse(notification.payload ?? '{}') as { kind?: string; events?: Array<{ data?: { n?: number } }> };
      if (message.kind !== 'events') return;
      for (const event of message.events ?? []) {
        const n = event.data?.n;
        if (typeof n === 'number' && Number.isNaN(heardAt[n]!)) heardAt[n] = now;
      }
    });
    await listener.query(`LISTEN ${BUS_CHANNEL}`);

    // Let presence and the first verification passes settle before measuring.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    // A server's commit wakes its own relay in memory (src/outbox/local-relays.ts), and a relay
    // woken during a pass runs another after it. Here each commit wakes one server's relay the
    // same way, the servers in turn, by a byte on its stdin; the other server's relay is not
    // woken (the events reach its hub on the bus). BENCH_WAKE=notify: a NOTIFY sent right after
    // a commit, at most one in flight (commits meanwhile ride on the next), in a transaction of
    // its own that waits for no WAL flush, which wakes both relays. (A NOTIFY inside each
    // writing transaction would serialise the commits, which the server no longer does.)
    let nextWoken = 0;
    const wakeOneRelay = (): void => {
      servers[nextWoken]!.stdin!.write('w');
      nextWoken = (nextWoken + 1) % servers.length;
    };
    let notifying = false;
    let notifyAgain = false;
    let wakeUps = 0;
    const notifyRelays = (): void => {
      if (notifying) {
        notifyAgain = true;
        return;
      }
      notifying = true;
      notifyAgain = false;
      wakeUps += 1;
      void waker
        .query(`BEGIN; SET LOCAL synchronous_commit TO off; SELECT pg_notify('tenantry_outbox', ''); COMMIT`)
        .catch((error: unknown) => console.error('wake-up NOTIFY failed', error))
        .finally(() => {
          notifying = false;
          if (notifyAgain) notifyRelays();
        });
    };
    const expected = new Map<string, number>();
    const received = async () => (await Promise.all(clients.map((client) => client.ask({ type: 'count' }, 'count')))).reduce((sum, answer) => sum + answer.received, 0);
    /** Deliveries of what was committed so far: each event to every socket of its tenant. */
    const wantedDeliveries = () => [...expected.values()].reduce((sum, count) => sum + count, 0) * SOCKETS_PER_TENANT;
    /** Every socket has what was committed so far, or the deadline passed. */
    const delivered = async (deadline: number) => {
      const wanted = wantedDeliveries();
      while ((await received()) < wanted && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    };
    /** Commits events first, first + 1, … first + count - 1, paced at RATE from the call. */
    const commitEvents = async (first: number, count: number) => {
      const started = performance.now();
      await inBatches(Array.from({ length: count }, (_, index) => first + index), 16, async (n) => {
        // Paced: event n is committed no earlier than (n - first) / RATE seconds after the start.
        const due = started + ((n - first) * 1000) / RATE;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const tenant = tenants[Math.floor(Math.random() * tenants.length)]!;
        const payload = { channel: 'tasks', type: 'task.updated', data: { id: randomUUID(), tenant: tenant.id, n }, agentId: null, at: Date.now() };
        sentAt[n] = benchClock();
        await admin.query(`INSERT INTO outbox (tenant_id, id, topic, payload) VALUES ($1, $2, 'realtime.event', $3)`, [tenant.id, randomUUID(), payload]);
        ackAt[n] = benchClock();
        if (WAKE === 'stdin') wakeOneRelay();
        else notifyRelays();
        expected.set(tenant.id, (expected.get(tenant.id) ?? 0) + 1);
      });
    };
    // The warm-up: the servers' paths run hot before the measurement (their code compiled by
    // V8, every pooled connection's statements prepared and planned), as in a server that has
    // been serving; a freshly started one shows its first second's latencies in the warm-up
    // figures, reported apart. Its events are checked like the others (tenant, gaps, repeats).
    if (warm > 0) {
      console.log(`warming up: ${RATE} events/s for ${WARM_UP_SECONDS} s`);
      await commitEvents(0, warm);
      await delivered(performance.now() + 30_000);
    }
    const load = loadavg()[0];
    console.log(`committing ${RATE} events/s for ${SECONDS} s`);
    await Promise.all(clients.map((client) => client.ask({ type: 'measure' }, 'measuring')));
    // This process commits and listens; its own lateness delays the acknowledgements it reads.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const commitsBefore = await databaseCommits();
    const scansBefore = await tableScans(admin);
    const cpuBefore = await cpuSnapshot();
    await postgresCpu.start();
    // BENCH_CPU_PROFILE=<file, {pid} for each server's id>: the servers' CPU profiles of the measurement.
    if (process.env.BENCH_CPU_PROFILE) for (const server of servers) server.kill('SIGUSR2');
    // The warm-up's wake-up NOTIFYs (BENCH_WAKE=notify) are not the measurement's commits.
    const wakeUpsBefore = wakeUps;
    const started = performance.now();
    await commitEvents(warm, total);
    const commitSeconds = (performance.now() - started) / 1000;
    const wanted = wantedDeliveries();
    await delivered(performance.now() + 30_000);
    const drainSeconds = (performance.now() - started) / 1000;
    loopDelay.disable();
    // A backend reports its counts within a second of its last transaction.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const databaseCommitsDuring = (await databaseCommits()) - commitsBefore;
    const scansAfter = await tableScans(admin);
    const cpuAfter = await cpuSnapshot();
    const postgresDuring = await postgresCpu.stop();
    // PostgreSQL: every process of the cluster pg_stat_activity listed during the measurement
    // (backends and background processes; PostgresCpu), less what each had used at its start.
    const cpuDuring = {
      servers: cpuAfter.servers - cpuBefore.servers,
      postgres: Object.values(postgresDuring).reduce((sum, seconds) => sum + seconds, 0),
      clients: cpuAfter.clients - cpuBefore.clients,
      producer: cpuAfter.producer - cpuBefore.producer,
    };
    const perThousandEvents = (value: number) => Number(((value / total) * 1000).toFixed(2));
    const reports: ClientReport[] = [];
    for (const client of clients) reports.push((await client.ask({ type: 'report' }, 'report')).report);

    // Per delivery of a measured event: from the commit's sending (the commit's own time
    // included), from its acknowledgement, and from the bus; the warm-up's from the sending.
    const fromSent: number[] = [];
    const fromAck: number[] = [];
    const fromBus: number[] = [];
    const warmUpFromSent: number[] = [];
    // On our clock: each client process's readings less its measured offset.
    const offsets = new Map(reports.map((report, r) => [report, clockChecks[r]!.offsetMs]));
    const onOurClock = (report: ClientReport, index: number) => report.receivedAt[index]! - offsets.get(report)!;
    // Second by second of the run (by when the event was due): a backlog that builds shows here.
    const bySecond = Array.from({ length: SECONDS }, () => ({ toBus: [] as number[], toSocket: [] as number[] }));
    for (const report of reports) {
      report.eventNumbers.forEach((n, index) => {
        const at = onOurClock(report, index);
        if (n < warm) {
          warmUpFromSent.push(at - sentAt[n]!);
          return;
        }
        fromSent.push(at - sentAt[n]!);
        fromAck.push(at - ackAt[n]!);
        fromBus.push(at - heardAt[n]!);
        bySecond[Math.floor((n - warm) / RATE)]?.toSocket.push(at - sentAt[n]!);
      });
    }
    const commits: number[] = [];
    const toBus: number[] = [];
    for (let n = warm; n < warm + total; n += 1) {
      commits.push(ackAt[n]! - sentAt[n]!);
      toBus.push(heardAt[n]! - ackAt[n]!);
      bySecond[Math.floor((n - warm) / RATE)]?.toBus.push(heardAt[n]! - ackAt[n]!);
    }
    const deliveriesReceived = fromSent.length + warmUpFromSent.length;
    const sockets = reports.flatMap((report) => report.sockets);
    const missing = sockets.reduce((sum, socket) => sum + Math.max(0, (expected.get(socket.tenantId) ?? 0) - socket.received), 0);
    const worst = (pick: (report: ClientReport) => number) => Math.max(...reports.map(pick));
    const lateBy = (p: number) => Number(Math.max(0, loopDelay.percentile(p) / 1e6 - 10).toFixed(1));
    const result = {
      at: new Date().toISOString(),
      machine: { ...machine(), loadAverageAtStart: load, loadAverageAtEnd: loadavg()[0] },
      settings: { tenants: TENANTS, socketsPerTenant: SOCKETS_PER_TENANT, rate: RATE, seconds: SECONDS, warmUpSeconds: WARM_UP_SECONDS, instances: 2, bus: 'postgres LISTEN/NOTIFY', clientProcesses: CLIENT_PROCESSES, wake: WAKE },
      clock: 'performance.timeOrigin + performance.now() in every process (bench/support/bench-clock.ts)',
      clockCheck: { maxOffsetMs: Number(Math.max(...clockChecks.map((check) => Math.abs(check.offsetMs))).toFixed(3)), maxOutsideMs: Number(Math.max(...clockChecks.map((check) => check.outsideMs)).toFixed(3)), maxRoundTripMs: Number(Math.max(...clockChecks.map((check) => check.roundTripMs)).toFixed(3)) },
      socketsOpened,
      socketsHeldAtEnd: reports.reduce((sum, report) => sum + report.held, 0),
      secondsToOpen: Number(openSeconds.toFixed(1)),
      upgradesRetriedAfter503: opened.reduce((sum, answer) => sum + answer.retries, 0),
      eventsCommitted: total,
      commitRate: Number((total / commitSeconds).toFixed(0)),
      eventsNotHeardOnBus: toBus.filter((value) => Number.isNaN(value)).length,
      deliveriesExpected: wanted,
      deliveriesReceived,
      deliveriesMissing: missing,
      deliveriesPerSecond: Number((fromSent.length / drainSeconds).toFixed(0)),
      // Transactions the database committed from the first commit until every delivery arrived:
      // the bench's own (its events, and its wake-up NOTIFYs with BENCH_WAKE=notify) and the
      // rest, the servers': the two relays' passes but for a few (presence, access
      // re-verification, the job queue, once a second or so).
      // CPU seconds each part used per 1,000 events over the same time (the machine is CPU-bound:
      // what one part saves the others can use), and all of them together in cores.
      cpuSecondsPerThousandEvents: Object.fromEntries(Object.entries(cpuDuring).map(([part, seconds]) => [part, perThousandEvents(seconds)])),
      // PostgreSQL's part of it, by who it served (PostgresCpu).
      postgresCpuSecondsPerThousandEvents: Object.fromEntries(Object.entries(postgresDuring).map(([part, seconds]) => [part, perThousandEvents(seconds)])),
      // What the relays' statements scanned, per 1,000 events (a backend reports its counts within
      // a second or so of its transactions, so the last second's may be missing).
      tableScansPerThousandEvents: Object.fromEntries(
        Object.entries(scansAfter).map(([table, after]) => [table, Object.fromEntries(Object.entries(after).map(([what, count]) => [what, perThousandEvents(count - (scansBefore[table]?.[what] ?? 0))]))]),
      ),
      coresUsed: Number((Object.values(cpuDuring).reduce((sum, seconds) => sum + seconds, 0) / (drainSeconds + 1.5)).toFixed(2)),
      databaseCommitsPerSecond: {
        bench: Number(((total + wakeUps - wakeUpsBefore) / drainSeconds).toFixed(0)),
        others: Number(((databaseCommitsDuring - total - (wakeUps - wakeUpsBefore)) / drainSeconds).toFixed(0)),
      },
      // The histograms hold the interval between samples: an idle loop reads as its 10 ms resolution.
      producerEventLoopDelayMs: { p50: lateBy(50), p99: lateBy(99) },
      clientEventLoopDelayMs: { p50: worst((report) => report.loopDelayMs.p50), p99: worst((report) => report.loopDelayMs.p99) },
      commitMs: spread(commits),
      stagesMs: { commitAckToBus: spread(toBus), busToSocket: spread(fromBus) },
      latencyMs: spread(fromSent),
      latencyFromAckMs: spread(fromAck),
      warmUpLatencyMs: warmUpFromSent.length > 0 ? spread(warmUpFromSent) : null,
      p99BySecondMs: bySecond.map(({ toBus, toSocket }) => ({ toBus: spread(toBus).p99, toSocket: spread(toSocket).p99 })),
      crossTenantDeliveries: reports.reduce((sum, report) => sum + report.foreign, 0),
      gaps: reports.reduce((sum, report) => sum + report.gaps, 0),
      repeats: reports.reduce((sum, report) => sum + report.repeats, 0),
      targets: { sockets: 10_000, p99Ms: 50, rate: 1_000, crossTenantDeliveries: 0 },
    };
    console.log(JSON.stringify(result, null, 2));
    await mkdir('bench/results', { recursive: true });
    await writeFile('bench/results/realtime.json', JSON.stringify(result, null, 2) + '\n');
    await writeFile('bench/results/realtime.md', report(result));
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await admin.end();
    await waker.end().catch(() => {});
    await listener.end().catch(() => {});
    for (const child of servers) await stopBenchServer(child);
    await database.drop();
  }
}

function report(result: Record<string, any>): string {
  const met = (ok: boolean) => (ok ? 'met' : 'missed');
  const ms = (spread: { p50: number; p90: number; p99: number; max: number }) => `${spread.p50} / ${spread.p90} / ${spread.p99} / ${spread.max} ms`;
  const pgCpu = result.postgresCpuSecondsPerThousandEvents;
  const scans = (table: string) => `${result.tableScansPerThousandEvents[table]?.seqScans} / ${result.tableScansPerThousandEvents[table]?.indexScans}`;
  return `# bench:realtime

${result.at}, ${result.machine.cpus} × ${result.machine.model}, Node ${result.machine.node}, load average ${Number(result.machine.loadAverageAtStart).toFixed(2)} at start, ${Number(result.machine.loadAverageAtEnd).toFixed(2)} at the end.
Two production servers on one database, bus ${result.settings.bus}; ${result.settings.tenants} tenants × ${result.settings.socketsPerTenant} sockets, half on each server, held by ${result.settings.clientProcesses} client processes; events committed to the outbox at ${result.settings.rate}/s for ${result.settings.seconds} s by this process (after a warm-up of ${result.settings.warmUpSeconds} s at the same rate, whose events are in the deliveries and checks but not in the times), each to a random tenant, ${result.settings.wake === 'notify' ? 'both relays woken by a NOTIFY after the commits' : "one server's relay woken in memory after each commit, the servers in turn"}. Times are read on ${result.clock}; a client process's clock was up to ${result.clockCheck.maxOffsetMs} ms from the producer's (measured over IPC, round trip ${result.clockCheck.maxRoundTripMs} ms), and its readings are corrected by that offset.

| Figure | Value | Target |
| --- | --- | --- |
| Sockets opened / held at the end | ${result.socketsOpened} / ${result.socketsHeldAtEnd} (opened in ${result.secondsToOpen} s, ${result.upgradesRetriedAfter503} upgrades retried after 503) | 10,000 (${met(result.socketsHeldAtEnd >= 10_000)}) |
| Events committed | ${result.eventsCommitted} (${result.commitRate}/s) | 1,000/s |
| Deliveries received / expected (warm-up included) | ${result.deliveriesReceived} / ${result.deliveriesExpected} (${result.deliveriesPerSecond}/s fanned out) | all |
| Database commits per second: the bench's (${result.settings.wake === 'notify' ? 'events, wake-up NOTIFYs' : 'events'}) / the servers' (mostly relay passes) | ${result.databaseCommitsPerSecond.bench} / ${result.databaseCommitsPerSecond.others} | |
| CPU seconds per 1,000 events: servers / PostgreSQL / client processes / producer (cores used in all) | ${result.cpuSecondsPerThousandEvents.servers} / ${result.cpuSecondsPerThousandEvents.postgres} / ${result.cpuSecondsPerThousandEvents.clients} / ${result.cpuSecondsPerThousandEvents.producer} (${result.coresUsed}) | |
| PostgreSQL's CPU seconds per 1,000 events: the servers' backends / the bench's connections / background (checkpointer, WAL writer, autovacuum) / other databases' connections | ${pgCpu.servers} / ${pgCpu.bench} / ${pgCpu.background} / ${pgCpu.otherDatabases} | |
| Relay tables' scans per 1,000 events, sequential / index: outbox; realtime_events | ${scans('outbox')}; ${scans('realtime_events')} | |
| Commit-to-socket latency p50 / p90 / p99 / max, from the commit's sending (its own time included) | ${ms(result.latencyMs)} | p99 < 50 ms (${met(result.latencyMs.p99 < 50)}) |
| The same from the commit's acknowledgement | ${ms(result.latencyFromAckMs)} | |
| Stage: the commit itself (sent → acknowledged) | ${ms(result.commitMs)} | |
| Stage: relay, sequencer, bus (acknowledged → heard on the bus) | ${ms(result.stagesMs.commitAckToBus)} | |
| Stage: hubs, sockets, client (heard on the bus → received) | ${ms(result.stagesMs.busToSocket)} | |
| The warm-up's commit-to-socket latency p50 / p90 / p99 / max, from the commit's sending | ${result.warmUpLatencyMs ? ms(result.warmUpLatencyMs) : 'no warm-up'} | |
| Event-loop delay p50 / p99: producer / client processes (worst) | ${result.producerEventLoopDelayMs.p50} / ${result.producerEventLoopDelayMs.p99} ms; ${result.clientEventLoopDelayMs.p50} / ${result.clientEventLoopDelayMs.p99} ms | |
| Deliveries to another tenant's socket | ${result.crossTenantDeliveries} | 0 (${met(result.crossTenantDeliveries === 0)}) |
| Gaps / repeats seen by sockets | ${result.gaps} / ${result.repeats} | 0 |
`;
}

await main();
