// bench:peers — Tenantry's full GET /v1/tasks?limit=50 (JWT, and API key) against a raw
// Fastify + pg server running the identical SELECT and against PostGraphile 5 on the same RLS
// policy: one database of 10,000 tenants and 2M tasks, each server in its own process,
// alternating rounds, a different tenant per request. Per round and side: req/s, p50, p99, and
// per request the Node process's CPU and write syscalls and its PostgreSQL backends' CPU; per
// side, once, the transactions a request made. Writes bench/results/peers.json and peers.md.
// See docs/benchmarks.md.

import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { AccessTokens } from '../src/auth/access-tokens.js';
import { builtInModules } from '../src/built-in-modules.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import type { Tables } from '../src/db/tables.js';
import { TenantScopePlugin } from '../src/db/tenant-scope-plugin.js';
import type { TaskTables } from '../src/domain/tasks/task-tables.js';
import { listTasksQuery } from '../src/domain/tasks/task-repository.js';
import { ModuleRegistry } from '../src/modules/registry.js';
import { machine, migrateBenchDatabase, openBenchDatabase, startBenchServer, stopBenchServer } from './support/bench-harness.js';
import { seedPeersDatabase, type PeerTenant } from './support/peers-database.js';
import { markdownTable, SIDES, summarize, type RoundResult, type Side } from './support/peers-report.js';
import { RAW_LIST_SQL } from './support/raw-list-sql.js';
import { ServerMeter, transactionCount, withApplicationName, type ServerUsage } from './support/server-meter.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const TENANTS = 10_000;
const TASKS_PER_TENANT = 200;
/** Tenantry's default TENANTRY_DB_POOL_SIZE, given to all three servers. */
const POOL_SIZE = 20;
/**
 * Tenantry's default TENANTRY_DB_IDLE_TIMEOUT_MS, given to the other two: no server's pool closes
 * its connections in the minute or so it idles between its loads, so no round measures
 * reconnecting (pg-pool's own default is 10 s).
 */
const POOL_IDLE_MS = loadConfig({ TENANTRY_JWT_SECRET: 'x'.repeat(32) }).databaseLimits.idleTimeoutMs;
/** The tenant sequence's seed: every load of every side walks the same tenants in the same order. */
const SEED = 11;
const WARM_UP_SECONDS = 5;
/** Longer than PostgreSQL's 10 s idle flush of transaction counts (see transactionCount). */
const STATS_SETTLE_MS = 11_000;
/**
 * Between two sides of a round: longer than the API-call meter's 1 s flush interval, so
 * Tenantry's last flush lands in its own side's figures, and no longer, so the sides a ratio
 * compares are measured seconds apart (this host's speed drifts by half within minutes).
 */
const SIDE_GAP_MS = 2_000;

const GRAPHQL_QUERY =
  '{ allTasks(first: 50, orderBy: [CREATED_AT_DESC, ROW_ID_DESC], condition: { deletedAt: null }) ' +
  '{ nodes { rowId projectId title description status assigneeId createdBy createdAt updatedAt } } }';

/** A pseudo-random tenant index sequence (mulberry32): the same seed gives the same tenants. */
function tenantSequence(seed: number, tenants: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % tenants) >>> 0;
  };
}

/** The SQL Tenantry sends for GET /v1/tasks?limit=50, compiled by its own query layer. */
function tenantryListSql(): string {
  const plugin = new TenantScopePlugin({ tenantId: '00000000-0000-4000-8000-000000000000', tenantTables: new ModuleRegistry(builtInModules).tenantTables });
  // Compiling needs a dialect, never a connection: this pool is not connected.
  const tx = new Kysely<Tables & TaskTables>({ dialect: new PostgresDialect({ pool: new pg.Pool() }), plugins: [plugin] });
  return listTasksQuery(tx, {}, { limit: 50, sort: 'desc' }).compile().sql;
}

interface Target {
  readonly server: ServerName;
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly body?: string;
  readonly headers: (tenant: PeerTenant) => Record<string, string>;
  /** The ids of the 50 tasks a response lists, in order. */
  readonly ids: (body: unknown) => string[];
}

type ServerName = 'tenantry' | 'raw' | 'postgraphile';
const APPLICATION_NAMES: Record<ServerName, string> = { tenantry: 'peers-tenantry', raw: 'peers-raw', postgraphile: 'peers-postgraphile' };

const restIds = (body: unknown) => (body as { data: Array<{ id: string }> }).data.map((task) => task.id);

async function fetchSide(target: Target, tenant: PeerTenant): Promise<unknown> {
  const response = await fetch(target.url, {
    method: target.method,
    headers: { 'content-type': 'application/json', ...target.headers(tenant) },
    ...(target.body ? { body: target.body } : {}),
  });
  const body: unknown = await response.json();
  if (response.status !== 200 || (body as { errors?: unknown }).errors) {
    throw new Error(`${target.url} answered ${response.status}: ${JSON.stringify(body).slice(0, 500)}`);
  }
  return body;
}

/**
 * When Tenantry's usage rollup (a job each minute on its service pool, adding up the API-call
 * events of every side's Tenantry traffic) last ran: a round in which it changes had the
 * rollup's PostgreSQL CPU counted in it, whichever credential the round used.
 */
async function lastRollup(monitor: pg.Client): Promise<string> {
  const { rows } = await monitor.query<{ at: string }>('SELECT updated_at::text AS at FROM usage_rollup_state');
  return rows[0]!.at;
}

/** Once, before any load: all four sides list the same 50 tasks in the same order for these tenants. */
async function checkSameRows(targets: Record<Side, Target>, tenants: readonly PeerTenant[]): Promise<void> {
  for (const tenant of tenants) {
    const bodies = Object.fromEntries(await Promise.all(SIDES.map(async (side) => [side, await fetchSide(targets[side], tenant)] as const)));
    const expected = restIds(bodies['tenantry-jwt']);
    if (expected.length !== 50) throw new Error(`tenant ${tenant.tenantId}: tenantry-jwt listed ${expected.length} tasks, not 50`);
    for (const side of SIDES) {
      const ids = targets[side].ids(bodies[side]);
      if (JSON.stringify(ids) !== JSON.stringify(expected)) {
        throw new Error(`tenant ${tenant.tenantId}: ${side} listed other tasks than tenantry-jwt:\n${ids.join(' ')}\nvs\n${expected.join(' ')}`);
      }
    }
    // Same JSON too, field by field, or the raw server would be serializing less.
    if (JSON.stringify(bodies.raw) !== JSON.stringify(bodies['tenantry-jwt'])) {
      throw new Error(`tenant ${tenant.tenantId}: the raw server's JSON differs from Tenantry's`);
    }
  }
}

async function load(target: Target, tenants: readonly PeerTenant[], seconds: number): Promise<autocannon.Result> {
  const next = tenantSequence(SEED, tenants.length);
  const result = await autocannon({
    url: target.url,
    method: target.method,
    ...(target.body ? { body: target.body } : {}),
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, 'content-type': 'application/json', ...target.headers(tenants[next()]!) },
        }),
      },
    ],
  });
  const failed = result.errors + result.timeouts + result.non2xx;
  // A rate of failures is not a rate of work: any failure invalidates the round.
  if (failed > 0) {
    throw new Error(`${target.url}: ${failed} failed requests (non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts})`);
  }
  return result;
}

/**
 * One request for every tenant, in order: a production server's caches hold its active users,
 * so the rounds measure that steady state. Without it the share of first requests (which read
 * a user's access before the list) depended on how many rounds had run, and so did every figure.
 */
async function visitEveryTenant(target: Target, tenants: readonly PeerTenant[]): Promise<void> {
  let next = 0;
  const result = await autocannon({
    url: target.url,
    method: target.method,
    ...(target.body ? { body: target.body } : {}),
    connections: CONNECTIONS,
    amount: tenants.length,
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, 'content-type': 'application/json', ...target.headers(tenants[next++ % tenants.length]!) },
        }),
      },
    ],
  });
  if (result.non2xx + result.errors + result.timeouts > 0) throw new Error(`${target.url}: the visit of every tenant had failures`);
}

const servers: ChildProcess[] = [];
const database = await openBenchDatabase();
const monitor = new pg.Client({ connectionString: withApplicationName(database.url, 'peers-monitor') });
let cleaning: Promise<void> | undefined;
/** Stops every server and drops the database, once, whether the run ends, fails or is interrupted. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const server of servers) await stopBenchServer(server);
    await monitor.end().catch(() => {});
    await database.drop();
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`${signal}: stopping the servers and dropping the database`);
    void cleanUp().finally(() => process.exit(1));
  });
}

try {
  const sql = tenantryListSql();
  if (sql !== RAW_LIST_SQL) {
    throw new Error(`Tenantry's list SQL changed; make bench/support/raw-list-sql.ts send the same:\n${sql}\nvs raw:\n${RAW_LIST_SQL}`);
  }
  const roles = loadConfig({ TENANTRY_JWT_SECRET: 'x'.repeat(32), DATABASE_URL: database.url }).roles;
  const databaseEnv = await migrateBenchDatabase(database.url, roles);
  console.log(`seeding ${TENANTS} tenants, ${TENANTS * TASKS_PER_TENANT} tasks…`);
  const data = await seedPeersDatabase(database.url, TENANTS, TASKS_PER_TENANT);
  console.log(`seeded in ${data.seedSeconds.toFixed(1)} s (VACUUM ANALYZE included)`);
  await monitor.connect();

  const jwtSecret = randomBytes(32).toString('hex');
  const named = (url: string, server: ServerName) => withApplicationName(url, APPLICATION_NAMES[server]);
  const start = async (server: ServerName, script: string, env: Record<string, string>) => {
    const started = await startBenchServer({ NODE_ENV: 'production', ...env }, script, { gcMeter: true });
    servers.push(started.child);
    return { child: started.child, address: started.address, meter: new ServerMeter(monitor, started.child, APPLICATION_NAMES[server]) };
  };
  const tenantry = await start('tenantry', 'bench/support/tenantry-server.mjs', {
    DATABASE_URL: named(databaseEnv.DATABASE_URL!, 'tenantry'),
    TENANTRY_APP_DATABASE_URL: named(databaseEnv.TENANTRY_APP_DATABASE_URL!, 'tenantry'),
    TENANTRY_SERVICE_DATABASE_URL: named(databaseEnv.TENANTRY_SERVICE_DATABASE_URL!, 'tenantry'),
    TENANTRY_JWT_SECRET: jwtSecret,
    TENANTRY_DB_POOL_SIZE: String(POOL_SIZE),
  });
  const raw = await start('raw', 'bench/support/raw-server.ts', {
    PEERS_DATABASE_URL: named(database.url, 'raw'),
    PEERS_POOL_SIZE: String(POOL_SIZE),
    PEERS_POOL_IDLE_MS: String(POOL_IDLE_MS),
  });
  const postgraphile = await start('postgraphile', 'bench/support/postgraphile-server.ts', {
    PEERS_DATABASE_URL: named(databaseEnv.TENANTRY_APP_DATABASE_URL!, 'postgraphile'),
    PEERS_POOL_SIZE: String(POOL_SIZE),
    PEERS_POOL_IDLE_MS: String(POOL_IDLE_MS),
    PEERS_APP_ROLE: roles.app,
  });

  // Minted here with the server's secret, for the seeded sessions: an hour outlasts the run.
  const issuer = new AccessTokens({ kind: 'secret', secret: jwtSecret }, 3600, systemClock);
  const jwts = new Map<string, string>();
  for (const tenant of data.tenants) {
    const issued = await issuer.issue({ userId: tenant.userId, tenantId: tenant.tenantId, sessionFamilyId: tenant.sessionFamilyId });
    jwts.set(tenant.tenantId, issued.token);
  }

  const listUrl = (address: string) => `${address}/v1/tasks?limit=50`;
  const targets: Record<Side, Target> = {
    'tenantry-jwt': { server: 'tenantry', url: listUrl(tenantry.address), method: 'GET', headers: (t) => ({ authorization: `Bearer ${jwts.get(t.tenantId)}` }), ids: restIds },
    'tenantry-apikey': { server: 'tenantry', url: listUrl(tenantry.address), method: 'GET', headers: (t) => ({ authorization: `Bearer ${t.apiKey}` }), ids: restIds },
    raw: { server: 'raw', url: listUrl(raw.address), method: 'GET', headers: (t) => ({ 'x-tenant-id': t.tenantId }), ids: restIds },
    postgraphile: {
      server: 'postgraphile',
      url: `${postgraphile.address}/graphql`,
      method: 'POST',
      body: JSON.stringify({ query: GRAPHQL_QUERY }),
      headers: (t) => ({ 'x-tenant-id': t.tenantId }),
      ids: (body) => (body as { data: { allTasks: { nodes: Array<{ rowId: string }> } } }).data.allTasks.nodes.map((task) => task.rowId),
    },
  };
  const meters: Record<ServerName, ServerMeter> = { tenantry: tenantry.meter, raw: raw.meter, postgraphile: postgraphile.meter };

  const sequence = tenantSequence(SEED, TENANTS);
  const checked = [data.tenants[0]!, data.tenants[TENANTS - 1]!, ...Array.from({ length: 4 }, () => data.tenants[sequence()]!)];
  await checkSameRows(targets, checked);
  console.log(`all four sides list the same 50 tasks for ${checked.length} tenants`);

  for (const side of SIDES) await visitEveryTenant(targets[side], data.tenants);
  // The warm-up counts each side's transactions per request, once: PostgreSQL reports them only
  // about 10 s after its backends go idle, a wait the rounds no longer make between sides.
  const xactsPerRequest = {} as Record<Side, number>;
  for (const side of SIDES) {
    const before = await transactionCount(monitor);
    const warmUp = await load(targets[side], data.tenants, WARM_UP_SECONDS);
    await sleep(STATS_SETTLE_MS);
    xactsPerRequest[side] = ((await transactionCount(monitor)) - before) / warmUp['2xx'];
    console.log(`warm-up ${side.padEnd(15)} ${String(Math.round(warmUp['2xx'] / warmUp.duration)).padStart(6)} req/s  xacts ${xactsPerRequest[side].toFixed(2)}/req`);
  }
  // BENCH_CPU_PROFILE=<file>: Tenantry's CPU profile of the measured rounds (bench/support/tenantry-server.mjs).
  if (process.env.BENCH_CPU_PROFILE) tenantry.child.kill('SIGUSR2');

  const rounds: RoundResult[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // The order rotates, so no side always goes first (or last) while the machine drifts.
    const order = SIDES.map((_, i) => SIDES[(i + round - 1) % SIDES.length]!);
    for (const side of order) {
      const target = targets[side];
      const loadAverage = loadavg().map((value) => Number(value.toFixed(2)));
      const rollupBefore = await lastRollup(monitor);
      const stop = await meters[target.server].start();
      const result = await load(target, data.tenants, SECONDS);
      await sleep(SIDE_GAP_MS);
      const usage: ServerUsage = await stop();
      const rollupDuringLoad = (await lastRollup(monitor)) !== rollupBefore;
      const requests = result['2xx'];
      const gc = usage.gc!;
      const entry: RoundResult = {
        round,
        side,
        loadAverage,
        requests,
        rps: Math.round(requests / result.duration),
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        nodeCpuMsPerRequest: usage.nodeCpuMs / requests,
        writesPerRequest: usage.writeSyscalls / requests,
        pgCpuMsPerRequest: usage.pgCpuMs / requests,
        gcMsPerRequest: (gc.scavengeMs + gc.markCompactMs) / requests,
        promotedKBPerRequest: (gc.promotedMB * 1024) / requests,
        newSpaceMB: gc.newSpaceMB,
        gc,
        rollupDuringLoad,
        pgBackends: usage.pgBackends,
        pgBackendsGone: usage.pgBackendsGone,
      };
      rounds.push(entry);
      console.log(
        `round ${round} ${side.padEnd(15)} ${String(entry.rps).padStart(6)} req/s  p50 ${entry.p50Ms} ms  p99 ${entry.p99Ms} ms  ` +
          `node ${entry.nodeCpuMsPerRequest.toFixed(3)} ms/req  pg ${entry.pgCpuMsPerRequest.toFixed(3)} ms/req  ` +
          `writes ${entry.writesPerRequest.toFixed(2)}/req  ` +
          `gc ${entry.gcMsPerRequest.toFixed(3)} ms/req  promoted ${entry.promotedKBPerRequest.toFixed(1)} KB/req  new space ${entry.newSpaceMB} MB  ` +
          `${rollupDuringLoad ? 'rollup ran  ' : ''}load ${loadAverage[0]}`,
      );
    }
  }

  const summary = summarize(rounds, xactsPerRequest);
  const { rows } = await monitor.query<{ server_version: string }>('SHOW server_version');
  const setup = {
    tenants: TENANTS,
    tasksPerTenant: TASKS_PER_TENANT,
    tasks: TENANTS * TASKS_PER_TENANT,
    seedSeconds: Number(data.seedSeconds.toFixed(1)),
    rounds: ROUNDS,
    seconds: SECONDS,
    connections: CONNECTIONS,
    poolSize: POOL_SIZE,
    seed: SEED,
    database: database.external ? 'external' : 'embedded',
    postgres: rows[0]!.server_version,
    sql: RAW_LIST_SQL,
    graphql: GRAPHQL_QUERY,
  };
  const setupLine =
    `${TENANTS} tenants, ${TENANTS * TASKS_PER_TENANT} tasks (seeded in ${setup.seedSeconds} s); ${ROUNDS} rounds of ${SECONDS} s per side, ` +
    `${CONNECTIONS} connections, pool ${POOL_SIZE}; PostgreSQL ${setup.postgres} (${setup.database}); ${String(machine().cpus)} CPUs.`;
  const table = markdownTable(summary, setupLine);
  await writeFile(
    'bench/results/peers.json',
    JSON.stringify({ benchmark: 'peers', date: new Date().toISOString(), machine: machine(), setup, summary, rounds }, null, 2) + '\n',
  );
  await writeFile('bench/results/peers.md', table);
  console.log('\n' + table);
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
