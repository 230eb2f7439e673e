// bench:memories — agent memory through Tenantry's HTTP API (an API key of the measured tenant)
// against a raw Fastify + pg server running the same ranking statement without Tenantry (no
// auth, no transaction, no RLS, the tenant predicate written out): one tenant of 100,000
// memories, measured first alone in the table and then among 1,000,000 (900 more tenants).
// Rounds alternate the sides; per round and side: req/s, p50, p99 and the load average; the
// summary takes medians. Recall runs twice per side: under load (BENCH_CONNECTIONS), and on one
// connection (latency without queueing behind other requests on 2 cores). Writes bench/results/memories.json and memories.md. See docs/benchmarks.md.

import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { machine, migrateBenchDatabase, openBenchDatabase, startBenchServer, stopBenchServer } from './support/bench-harness.js';
import { memoryWord, seedMeasuredTenant, seedOtherTenants, VOCABULARY, WORDS_PER_MEMORY, type MemoriesTenant } from './support/memories-database.js';
import { markdownReport, summarize, type Phase, type RoundResult, type Side } from './support/memories-report.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const GROWTH_ROUNDS = Number(process.env.BENCH_GROWTH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
// Smaller values only to try the bench itself: the figures are for the defaults.
const MEASURED_MEMORIES = Number(process.env.BENCH_MEASURED_MEMORIES ?? 100_000);
const OTHER_TENANTS = Number(process.env.BENCH_OTHER_TENANTS ?? 900);
const OTHER_MEMORIES_EACH = 1_000;
/** Tenantry's default TENANTRY_DB_POOL_SIZE, given to both servers. */
const POOL_SIZE = 20;
const RECALL_LIMIT = 10;
const WARM_UP_SECONDS = 5;
const SEED = 12;

/** A pseudo-random sequence in 0..1 (mulberry32): the same seed gives the same requests on every side. */
function randomSequence(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const randomWord = (next: () => number) => memoryWord(1 + Math.floor(next() * VOCABULARY));
const recallBody = (next: () => number) => JSON.stringify({ q: randomWord(next), limit: RECALL_LIMIT });
const storeBody = (next: () => number) =>
  JSON.stringify({ content: Array.from({ length: WORDS_PER_MEMORY }, () => randomWord(next)).join(' '), importance: Math.round(next() * 100) / 100 });

interface Target {
  readonly url: string;
  /** Concurrent connections: the load's, or one for latency without queueing. */
  readonly connections: number;
  readonly headers: Record<string, string>;
  readonly body: (next: () => number) => string;
}

async function post(target: Target, body: string): Promise<unknown> {
  const response = await fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/json', ...target.headers }, body });
  const answer: unknown = await response.json();
  if (response.status >= 300) throw new Error(`${target.url} answered ${response.status}: ${JSON.stringify(answer).slice(0, 500)}`);
  return answer;
}

interface Recalled {
  readonly ids: string[];
  readonly scores: number[];
}

function recalled(answer: unknown): Recalled {
  const data = (answer as { data: Array<{ memory: { id: string }; score: number }> }).data;
  return { ids: data.map((entry) => entry.memory.id), scores: data.map((entry) => entry.score) };
}

/**
 * Once, before any load: both sides recall the same memories, ranked by the same scores (raw
 * first: Tenantry's recall reinforces). Recency is computed at each request's own instant, so
 * memories whose scores differ by less than SCORE_TOLERANCE may swap places between the sides.
 */
const SCORE_TOLERANCE = 1e-4;
async function checkSameRanking(tenantry: Target, raw: Target): Promise<number> {
  const next = randomSequence(SEED + 1000);
  const bodies = Array.from({ length: 8 }, () => recallBody(next));
  const rawAnswers: Recalled[] = [];
  for (const body of bodies) rawAnswers.push(recalled(await post(raw, body)));
  for (const [i, body] of bodies.entries()) {
    const ours = recalled(await post(tenantry, body));
    const theirs = rawAnswers[i]!;
    const sameSet = JSON.stringify([...ours.ids].sort()) === JSON.stringify([...theirs.ids].sort());
    const sameScores = ours.scores.length === theirs.scores.length && ours.scores.every((score, at) => Math.abs(score - theirs.scores[at]!) < SCORE_TOLERANCE);
    if (ours.ids.length === 0 || !sameSet || !sameScores) {
      throw new Error(`${body}: the sides ranked differently:\n${JSON.stringify(ours)}\nvs raw\n${JSON.stringify(theirs)}`);
    }
  }
  return bodies.length;
}

async function load(target: Target, seconds: number): Promise<autocannon.Result> {
  const next = randomSequence(SEED);
  const result = await autocannon({
    url: target.url,
    method: 'POST',
    connections: target.connections,
    duration: seconds,
    requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, 'content-type': 'application/json', ...target.headers }, body: target.body(next) }) }],
  });
  const failed = result.errors + result.timeouts + result.non2xx;
  // A rate of failures is not a rate of work: any failure invalidates the round.
  if (failed > 0) throw new Error(`${target.url}: ${failed} failed requests (non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts})`);
  return result;
}

async function measure(phase: Phase, sides: readonly Side[], targets: Record<Side, Target>, rounds: number, results: RoundResult[]): Promise<void> {
  for (const side of sides) await load(targets[side], WARM_UP_SECONDS); // warm-up, discarded
  for (let round = 1; round <= rounds; round++) {
    // The order rotates, so no side always goes first (or last) while the machine drifts.
    const order = sides.map((_, i) => sides[(i + round - 1) % sides.length]!);
    for (const side of order) {
      const loadAverage = loadavg().map((value) => Number(value.toFixed(2)));
      const result = await load(targets[side], SECONDS);
      const entry: RoundResult = { phase, round, side, loadAverage, requests: result['2xx'], rps: Math.round(result['2xx'] / result.duration), p50Ms: result.latency.p50, p99Ms: result.latency.p99 };
      results.push(entry);
      console.log(`${phase} round ${round} ${side.padEnd(15)} ${String(entry.rps).padStart(6)} req/s  p50 ${entry.p50Ms} ms  p99 ${entry.p99Ms} ms  load ${loadAverage[0]}`);
    }
  }
}

const servers: ChildProcess[] = [];
const database = await openBenchDatabase();
let cleaning: Promise<void> | undefined;
/** Stops both servers and drops the database, once, whether the run ends, fails or is interrupted. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const server of servers) await stopBenchServer(server);
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
  const roles = loadConfig({ TENANTRY_JWT_SECRET: 'x'.repeat(32), DATABASE_URL: database.url }).roles;
  const databaseEnv = await migrateBenchDatabase(database.url, roles);
  console.log(`seeding the measured tenant: ${MEASURED_MEMORIES} memories…`);
  const measured: { tenant: MemoriesTenant; seconds: number } = await seedMeasuredTenant(database.url, MEASURED_MEMORIES);
  console.log(`seeded in ${measured.seconds.toFixed(1)} s`);

  const start = async (script: string, env: Record<string, string>) => {
    const started = await startBenchServer({ NODE_ENV: 'production', ...env }, script);
    servers.push(started.child);
    return started.address;
  };
  const tenantry = await start('bench/support/tenantry-server.mjs', { ...databaseEnv, TENANTRY_JWT_SECRET: 'x'.repeat(32), TENANTRY_DB_POOL_SIZE: String(POOL_SIZE) });
  const raw = await start('bench/support/memories-raw-server.ts', { MEMORIES_DATABASE_URL: database.url, MEMORIES_POOL_SIZE: String(POOL_SIZE) });
  const key = { authorization: `Bearer ${measured.tenant.apiKey}` };
  const recallOf = (url: string, headers: Record<string, string>, connections: number): Target => ({ url, headers, connections, body: recallBody });
  const rawHeaders = { 'x-tenant-id': measured.tenant.tenantId };
  const targets: Record<Side, Target> = {
    'tenantry-recall': recallOf(`${tenantry}/v1/memories/recall`, key, CONNECTIONS),
    'raw-recall': recallOf(`${raw}/v1/memories/recall`, rawHeaders, CONNECTIONS),
    'tenantry-recall-1': recallOf(`${tenantry}/v1/memories/recall`, key, 1),
    'raw-recall-1': recallOf(`${raw}/v1/memories/recall`, rawHeaders, 1),
    'tenantry-store': { url: `${tenantry}/v1/memories`, headers: key, connections: CONNECTIONS, body: storeBody },
  };
  const checked = await checkSameRanking(targets['tenantry-recall'], targets['raw-recall']);
  console.log(`both sides recall the same memories with the same scores for ${checked} queries`);

  const rounds: RoundResult[] = [];
  await measure('100k', ['tenantry-recall', 'raw-recall', 'tenantry-recall-1', 'raw-recall-1'], targets, GROWTH_ROUNDS, rounds);

  console.log(`seeding ${OTHER_TENANTS} more tenants of ${OTHER_MEMORIES_EACH} memories…`);
  const otherSeconds = await seedOtherTenants(database.url, OTHER_TENANTS, OTHER_MEMORIES_EACH, console.log);
  console.log(`seeded in ${otherSeconds.toFixed(1)} s`);
  await measure('1M', ['tenantry-recall', 'raw-recall', 'tenantry-recall-1', 'raw-recall-1', 'tenantry-store'], targets, ROUNDS, rounds);

  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  const { rows } = await admin.query<{ version: string; memories: string }>('SELECT current_setting($1) AS version, (SELECT count(*) FROM memories) AS memories', ['server_version']);
  await admin.end();
  const summary = summarize(rounds);
  const setup = {
    measuredTenantMemories: MEASURED_MEMORIES,
    otherTenants: OTHER_TENANTS,
    otherMemoriesEach: OTHER_MEMORIES_EACH,
    memoriesAtEnd: Number(rows[0]!.memories),
    vocabulary: VOCABULARY,
    wordsPerMemory: WORDS_PER_MEMORY,
    recallLimit: RECALL_LIMIT,
    seedSeconds: { measured: Number(measured.seconds.toFixed(1)), others: Number(otherSeconds.toFixed(1)) },
    rounds: ROUNDS,
    growthRounds: GROWTH_ROUNDS,
    seconds: SECONDS,
    connections: CONNECTIONS,
    poolSize: POOL_SIZE,
    seed: SEED,
    database: database.external ? 'external' : 'embedded',
    postgres: rows[0]!.version,
  };
  const setupLine =
    `One tenant of ${MEASURED_MEMORIES} memories (words drawn from ${VOCABULARY}, ${WORDS_PER_MEMORY} a memory; a recall of one word matches about ` +
    `${Math.round((MEASURED_MEMORIES * WORDS_PER_MEMORY) / VOCABULARY)}), alone and then among ${MEASURED_MEMORIES + OTHER_TENANTS * OTHER_MEMORIES_EACH} memories; ` +
    `${GROWTH_ROUNDS} rounds at 100k and ${ROUNDS} at 1M of ${SECONDS} s per side, ${CONNECTIONS} connections (sides ending -1: one), pool ${POOL_SIZE}; ` +
    `PostgreSQL ${setup.postgres} (${setup.database}); ${String(machine().cpus)} CPUs.`;
  const report = markdownReport(summary, setupLine);
  await writeFile('bench/results/memories.json', JSON.stringify({ benchmark: 'memories', date: new Date().toISOString(), machine: machine(), setup, summary, rounds }, null, 2) + '\n');
  await writeFile('bench/results/memories.md', report);
  console.log('\n' + report);
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
