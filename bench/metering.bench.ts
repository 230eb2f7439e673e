// bench:metering — usage events/s through POST /v1/usage/events (HTTP, batches of 1,000,
// concurrent clients, server in a child process) and through the internal recorder, against
// a raw multi-row INSERT ... ON CONFLICT DO NOTHING of the same rows into the same table, in
// the same run, with the CPU each side used (this process, the server's, the database's
// backends) per 1,000 events. Then the whole stream is replayed three times: totals must not change.

import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import pg from 'pg';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { benchSignUp } from './support/bench-sign-up.js';
import { machine, median, migrateBenchDatabase, openBenchDatabase, startBenchServer, stopBenchServer } from './support/bench-harness.js';
import { createPool } from '../src/db/database.js';
import { createLogger } from '../src/logger.js';
import { rollUpUsage } from '../src/metering/roll-up-usage.js';
import type { UsageEventInput } from '../src/metering/usage-event.js';
import { createServices } from '../src/services.js';
import { builtInModules } from '../src/built-in-modules.js';
import type { Actor } from '../src/tenancy/actor.js';
import { enterTenant } from '../src/tenancy/enter-tenant.js';

/** Clock ticks of /proc/<pid>/stat (USER_HZ, 100 on Linux) in milliseconds. */
const TICK_MS = 10;

/** CPU milliseconds (user + system) a process has used, or undefined when /proc cannot say. */
function processCpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

/** The PostgreSQL backends serving `database` on this machine (their process titles name it). */
function backendPids(database: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (title.startsWith('postgres: ') && title.includes(` ${database} `)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
const BATCHES_PER_CLIENT = Number(process.env.BENCH_BATCHES ?? 25);
const BATCH = 1000;
const TARGET_HTTP_EPS = 20_000;
/**
 * Not api_calls: the server counts its own requests there, on its own schedule. Two count
 * metrics (quantity 1: each event counts once) and two max metrics (a quantity per event).
 */
const METRICS = ['tasks', 'memories', 'storage_bytes', 'seats'];
const COUNTED = new Set(['tasks', 'memories']);

type Side = 'http' | 'recorder' | 'raw';
const SIDES: Side[] = ['http', 'recorder', 'raw'];

interface Tenant {
  readonly id: string;
  readonly token: string;
  /** Its owner, as the recorder side's use-case calls name them. */
  readonly owner: Actor;
}

/** One client's batches: the same rows for every side (each side writes them for its own tenant). */
function makeBatches(round: number, client: number): UsageEventInput[][] {
  const now = Date.now();
  return Array.from({ length: BATCHES_PER_CLIENT }, (_, b) =>
    Array.from({ length: BATCH }, (_, i) => {
      const n = b * BATCH + i;
      const metric = METRICS[n % METRICS.length]!;
      return {
        metric,
        quantity: COUNTED.has(metric) ? 1 : (n % 97) + 1,
        idempotency_key: `r${round}-c${client}-${n}`,
        occurred_at: new Date(now - (n % 3600) * 1000).toISOString(),
        properties: { source: 'bench', shard: n % 8 },
      };
    }),
  );
}

const database = await openBenchDatabase();
const url = database.url;
let server: ChildProcess | undefined;
const logger = createLogger('error');
const jwtSecret = randomBytes(32).toString('hex');
const config = loadConfig({ DATABASE_URL: url, TENANTRY_JWT_SECRET: jwtSecret, LOG_LEVEL: 'warn' });
const pool = createPool(url, 16, logger);
const services = createServices({ modules: builtInModules, config, jwt: config.jwt!, pool, clock: systemClock, logger });
const raw = new pg.Pool({ connectionString: url, max: CLIENTS });
raw.on('error', (error) => logger.warn({ err: error }, 'idle baseline client failed'));
// Ended in `finally`: a run that fails part-way must not die on this client when the database is dropped.
const adminDb = new pg.Client({ connectionString: url });
adminDb.on('error', (error) => logger.warn({ err: error }, 'admin client failed'));
try {
  const databaseEnv = await migrateBenchDatabase(url, config.roles);
  await adminDb.connect();
  const started = await startBenchServer({ ...databaseEnv, TENANTRY_JWT_SECRET: jwtSecret, TENANTRY_DB_POOL_SIZE: '16' });
  server = started.child;

  /** A tenant per side, round and client, on the enterprise plan (no rate limit, no quotas). */
  async function newTenant(label: string): Promise<Tenant> {
    const body = await benchSignUp(started.address, adminDb, { name: label, slug: label, email: `${label}@bench.test`, password: 'bench password 123' });
    await adminDb.query(`UPDATE tenants SET plan = 'enterprise' WHERE id = $1`, [body.tenant.id]);
    const owner: Actor = { kind: 'user', userId: body.owner.id, tenantId: body.tenant.id, role: 'owner', plan: 'enterprise', requestId: 'bench' };
    return { id: body.tenant.id, token: body.accessToken, owner };
  }

  const senders: Record<Side, (tenant: Tenant, batch: UsageEventInput[], body: string) => Promise<number>> = {
    async http(tenant, _batch, body) {
      const response = await fetch(`${started.address}/v1/usage/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.token}` },
        body,
      });
      if (response.status !== 200) throw new Error(`ingest: ${response.status} ${await response.text()}`);
      return ((await response.json()) as { accepted: number }).accepted;
    },
    async recorder(tenant, batch) {
      const result = await enterTenant(tenant.owner, () => services.metering.recorder.record(tenant.owner, batch));
      return result.accepted;
    },
    async raw(tenant, batch) {
      // The baseline: the same rows, one multi-row INSERT ... ON CONFLICT DO NOTHING, no scoping.
      const values: unknown[] = [];
      const rows = batch.map((event, i) => {
        values.push(tenant.id, event.idempotency_key, event.metric, event.quantity, event.occurred_at, null, JSON.stringify(event.properties));
        const p = i * 7;
        return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, $${p + 6}, $${p + 7})`;
      });
      const result = await raw.query(
        `INSERT INTO usage_events (tenant_id, idempotency_key, metric, quantity, occurred_at, unique_value, properties) VALUES ${rows.join(', ')}
         ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING idempotency_key`,
        values,
      );
      return result.rowCount ?? 0;
    },
  };

  interface Stream {
    readonly side: Side;
    readonly tenants: Tenant[];
    readonly batches: UsageEventInput[][][];
    readonly bodies: string[][];
  }
  const streams: Stream[] = [];

  const databaseName = new URL(url).pathname.slice(1);
  /** CPU used so far (ms) by this process, the server's and each backend of the database, by process id. */
  function cpuSnapshot(): Map<number, number> | undefined {
    const own = process.cpuUsage();
    const snapshot = new Map<number, number>([[process.pid, (own.user + own.system) / 1000]]);
    const server = processCpuMs(started.child.pid!);
    if (server === undefined) return undefined;
    snapshot.set(started.child.pid!, server);
    for (const pid of backendPids(databaseName)) {
      const ms = processCpuMs(pid);
      if (ms !== undefined) snapshot.set(pid, ms); // else it ended since it was listed
    }
    return snapshot.size > 2 ? snapshot : undefined;
  }

  /**
   * CPU everything that worked for one side used between two snapshots: this process (the
   * clients, and the recorder side's server code), the server process and the database's
   * backends; a backend that started meanwhile counts whole, one that ended is lost (the pools
   * keep theirs open). Undefined where /proc does not show them (PostgreSQL on another machine).
   */
  function cpuBetween(before: Map<number, number> | undefined, after: Map<number, number> | undefined): number | undefined {
    if (!before || !after) return undefined;
    let total = 0;
    for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
    return total;
  }

  /** Every client sends its batches one after another; the clients run at once. */
  async function run(stream: Stream): Promise<{ events: number; accepted: number; seconds: number; cpuMs: number | undefined }> {
    const cpuBefore = cpuSnapshot();
    const begin = performance.now();
    const accepted = await Promise.all(
      stream.tenants.map(async (tenant, client) => {
        let total = 0;
        for (let b = 0; b < stream.batches[client]!.length; b++) {
          total += await senders[stream.side](tenant, stream.batches[client]![b]!, stream.bodies[client]![b]!);
        }
        return total;
      }),
    );
    const seconds = (performance.now() - begin) / 1000;
    const cpuMs = cpuBetween(cpuBefore, cpuSnapshot());
    return { events: CLIENTS * BATCHES_PER_CLIENT * BATCH, accepted: accepted.reduce((a, b) => a + b, 0), seconds, cpuMs };
  }

  // Warm-up (discarded): JIT, connections, catalog caches on both sides.
  for (const side of SIDES) {
    const tenant = await newTenant(`warm-${side}`);
    const batch = makeBatches(99, 0)[0]!;
    await senders[side](tenant, batch, JSON.stringify({ events: batch }));
  }

  const rates: Record<Side, number[]> = { http: [], recorder: [], raw: [] };
  /** CPU ms per 1,000 events, all processes of the side together: less swayed by other load than time. */
  const cpu: Record<Side, number[]> = { http: [], recorder: [], raw: [] };
  const detail: unknown[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const batches = Array.from({ length: CLIENTS }, (_, client) => makeBatches(round, client));
    const bodies = batches.map((perClient) => perClient.map((batch) => JSON.stringify({ events: batch })));
    // Rotate the order so table growth and drift do not favour one side.
    const order = SIDES.map((_, i) => SIDES[(i + round - 1) % SIDES.length]!);
    for (const side of order) {
      const tenants = await Promise.all(Array.from({ length: CLIENTS }, (_, client) => newTenant(`b-${side}-${round}-${client}`)));
      const stream = { side, tenants, batches, bodies };
      streams.push(stream);
      const result = await run(stream);
      if (result.accepted !== result.events) throw new Error(`${side}: ${result.accepted} of ${result.events} accepted`);
      const eps = result.events / result.seconds;
      rates[side].push(eps);
      const load = Number(loadavg()[0]!.toFixed(2));
      const cpuPer1000 = result.cpuMs === undefined ? undefined : Number(((result.cpuMs / result.events) * 1000).toFixed(1));
      if (cpuPer1000 !== undefined) cpu[side].push(cpuPer1000);
      detail.push({
        round,
        side,
        events: result.events,
        seconds: Number(result.seconds.toFixed(3)),
        eventsPerSecond: Math.round(eps),
        cpuMsPer1000Events: cpuPer1000 ?? null,
        loadAverage: load,
      });
      console.log(
        `round ${round} ${side.padEnd(8)} ${Math.round(eps).toString().padStart(7)} events/s  (${result.events} in ${result.seconds.toFixed(2)} s, ` +
          `${cpuPer1000 ?? '?'} ms CPU per 1,000 events, load ${load})`,
      );
    }
  }

  /** Rolls up until no committed event is left queued (a run takes a batch at most). */
  async function rollUpAll(): Promise<void> {
    for (;;) {
      await rollUpUsage(services.db);
      const { rows } = await adminDb.query('SELECT count(*)::int AS n FROM usage_rollup_queue');
      if (rows[0].n === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  // Replays: every stream again, three times. Nothing may be accepted, no total may move.
  await services.metering.apiCalls.flush();
  await rollUpAll();
  const totalsSql = `SELECT tenant_id, metric, count(*)::text AS n, sum(quantity)::text AS s FROM usage_events
                     WHERE metric <> 'api_calls' GROUP BY 1, 2 ORDER BY 1, 2`;
  const rollupSql = `SELECT tenant_id, metric, sum(event_count)::text AS n, sum(quantity_sum)::text AS s FROM usage_rollups
                     WHERE granularity = 'hour' AND metric <> 'api_calls' GROUP BY 1, 2 ORDER BY 1, 2`;
  const before = JSON.stringify((await adminDb.query(totalsSql)).rows);
  const rollupsBefore = JSON.stringify((await adminDb.query(rollupSql)).rows);
  if (rollupsBefore !== before) throw new Error('rollups disagree with the raw events before the replays');
  const replays: unknown[] = [];
  for (let replay = 1; replay <= 3; replay++) {
    const begin = performance.now();
    let accepted = 0;
    for (const stream of streams) accepted += (await run(stream)).accepted;
    await rollUpAll();
    const after = JSON.stringify((await adminDb.query(totalsSql)).rows);
    const rollupsAfter = JSON.stringify((await adminDb.query(rollupSql)).rows);
    const unchanged = after === before && rollupsAfter === before && accepted === 0;
    replays.push({ replay, accepted, totalsUnchanged: unchanged, seconds: Number(((performance.now() - begin) / 1000).toFixed(2)) });
    console.log(`replay ${replay}: ${accepted} accepted, totals ${unchanged ? 'unchanged' : 'CHANGED'}`);
    if (!unchanged) throw new Error(`replay ${replay} changed the totals`);
  }

  const http = median(rates.http);
  const recorder = median(rates.recorder);
  const baseline = median(rates.raw);
  const summary = {
    benchmark: 'metering',
    date: new Date().toISOString(),
    machine: machine(),
    database: database.external ? 'external' : 'embedded',
    setup: { clients: CLIENTS, batchSize: BATCH, batchesPerClient: BATCHES_PER_CLIENT, eventsPerSide: CLIENTS * BATCHES_PER_CLIENT * BATCH, rounds: ROUNDS },
    httpEventsPerSecond: Math.round(http),
    recorderEventsPerSecond: Math.round(recorder),
    rawInsertEventsPerSecond: Math.round(baseline),
    httpToRaw: Number((http / baseline).toFixed(3)),
    recorderToRaw: Number((recorder / baseline).toFixed(3)),
    // The sides of one round run seconds apart, so their ratio cancels most of the drift of a
    // shared machine's load that the ratio of the medians above (taken from different rounds) keeps.
    httpToRawPerRound: Number(median(rates.http.map((rate, i) => rate / rates.raw[i]!)).toFixed(3)),
    recorderToRawPerRound: Number(median(rates.recorder.map((rate, i) => rate / rates.raw[i]!)).toFixed(3)),
    cpuMsPer1000Events: cpu.raw.length ? { http: median(cpu.http), recorder: median(cpu.recorder), raw: median(cpu.raw) } : null,
    targetHttpEventsPerSecond: TARGET_HTTP_EPS,
    replays,
    rounds: detail,
  };
  console.log(
    `\nHTTP ${summary.httpEventsPerSecond} events/s (${summary.httpToRaw}x raw), recorder ${summary.recorderEventsPerSecond} events/s ` +
      `(${summary.recorderToRaw}x raw), raw INSERT ${summary.rawInsertEventsPerSecond} events/s; median of per-round ratios: HTTP ` +
      `${summary.httpToRawPerRound}x, recorder ${summary.recorderToRawPerRound}x; target HTTP >= ${TARGET_HTTP_EPS}: ` +
      (http >= TARGET_HTTP_EPS ? 'met' : 'NOT met'),
  );
  await writeFile('bench/results/metering.json', JSON.stringify(summary, null, 2) + '\n');
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await stopBenchServer(server);
  await services.metering.close().catch(() => {});
  await services.invalidation.close().catch(() => {});
  await adminDb.end().catch(() => {});
  await raw.end();
  await pool.end();
  await database.drop();
}
