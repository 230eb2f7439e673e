// What every benchmark needs around its measurement: a fresh database (embedded, or on
// DATABASE_URL), the server under test in its own process, and a median.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import type { DatabaseRoles } from '../../src/config.js';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { migrateQueue } from '../../src/jobs/migrate-queue.js';
import { createLogger } from '../../src/logger.js';
import { asRole } from '../../src/db/open-database.js';
import { builtInModules } from '../../src/built-in-modules.js';

const GC_METER = new URL('./gc-meter.mjs', import.meta.url).href;

export interface BenchDatabase {
  /** Connection string of a fresh, empty database. */
  readonly url: string;
  readonly external: boolean;
  drop(): Promise<void>;
}

/** A fresh database on DATABASE_URL's server, or on an embedded cluster made for the run. */
export async function openBenchDatabase(): Promise<BenchDatabase> {
  const external = process.env.DATABASE_URL;
  const dataDir = external ? undefined : await mkdtemp(join(tmpdir(), 'tenantry-bench-'));
  const embedded = dataDir ? await startEmbeddedPostgres({ dataDir, port: 0, ephemeral: true }) : undefined;
  const serverUrl = external ?? embedded!.url;
  const name = `tenantry_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = '/' + name;
  return {
    url: url.toString(),
    external: external !== undefined,
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
      await embedded?.stop();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Migrates the bench database as `tenantry migrate` does (our schema, then the job queue's) and
 * gives its two login roles passwords; returns the database variables a server needs, so it
 * serves requests as the request login (as in production: it refuses a superuser) and service
 * work as the service login. The queue's schema is installed here, not by the first server to
 * start: a process that installed it ran slower for its whole life (docs/benchmarks.md).
 */
export async function migrateBenchDatabase(url: string, roles: DatabaseRoles): Promise<Record<string, string>> {
  const loginPassword = randomBytes(16).toString('hex');
  const serviceLoginPassword = randomBytes(16).toString('hex');
  await migrate({ modules: builtInModules, databaseUrl: url, roles, loginPassword, serviceLoginPassword });
  await migrateQueue(url, roles, createLogger('warn', process.stderr));
  return {
    DATABASE_URL: url,
    TENANTRY_APP_DATABASE_URL: asRole(url, roles.login, loginPassword),
    TENANTRY_SERVICE_DATABASE_URL: asRole(url, roles.serviceLogin, serviceLoginPassword),
  };
}

export interface BenchServerOptions {
  /** A pipe to the server's stdin (child.stdin), for a script that reads one (tenantry-server.mjs's BENCH_WAKE_ON_STDIN). */
  readonly stdin?: boolean;
  /** The server answers the bench's GC questions over an IPC channel (gc-meter.mjs; ServerMeter asks). */
  readonly gcMeter?: boolean;
}

/**
 * Starts a server script (bench/support/bench-server.ts unless another is named) in a child
 * process; resolves once it prints its {"address": …} line. The child is node itself (tsx is a
 * loader, not a wrapper; a .mjs script runs without it), so its pid is the server's, for CPU
 * accounting.
 */
export async function startBenchServer(
  env: Record<string, string>,
  script = 'bench/support/bench-server.ts',
  options: BenchServerOptions = {},
): Promise<{ child: ChildProcess; address: string }> {
  // BENCH_SERVER_NODE_ARGS passes flags to the server's node (say `--cpu-prof`, to see where it spends its time).
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  // A compiled script (.mjs) runs on node alone, as production runs the build.
  const loader = script.endsWith('.mjs') ? [] : ['--import', 'tsx'];
  const meter = options.gcMeter ? ['--import', GC_METER] : [];
  const child = spawn(process.execPath, [...nodeArgs, ...loader, ...meter, script], {
    env: { ...process.env, ...env },
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'inherit', ...(options.gcMeter ? (['ipc'] as const) : [])],
  });
  let address: string | undefined;
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line.startsWith('{')) {
      address = JSON.parse(line).address as string;
      break;
    }
  }
  if (address === undefined) throw new Error(`${script} exited before listening`);
  // Leaving the loop closed the reader and paused the pipe: whatever the server prints later
  // is read and dropped, since a full pipe would stall it.
  child.stdout!.resume();
  return { child, address };
}

export async function stopBenchServer(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  // A server that has not finished its shutdown by then is not left running behind the bench.
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Recorded beside every result: the figures only mean something on the machine they ran on. */
export function machine(): Record<string, unknown> {
  return { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
}
