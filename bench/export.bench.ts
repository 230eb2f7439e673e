// bench:export — a tenant export of 1,000,000 rows against `COPY (SELECT … WHERE tenant_id = …)
// TO STDOUT` of the same rows, in the same run, each side in a child process of its own so its
// peak RSS is its own. A second, ten times smaller tenant shows whether memory grows with size:
// a flat export peaks at the same RSS for 100k rows as for 1M.
//
//   npm run bench:export                   # embedded PostgreSQL; or set DATABASE_URL
//   ROWS=200000 ROUNDS=1 npm run bench:export
//
// Results: bench/results/export.json and export.md (with the machine they ran on).

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import pg from 'pg';
import { builtInModules } from '../src/built-in-modules.js';
import { loadConfig } from '../src/config.js';
import { createPool, Database } from '../src/db/database.js';
import { newId } from '../src/db/ids.js';
import { createLogger } from '../src/logger.js';
import { ModuleRegistry } from '../src/modules/registry.js';
import { EXPORT_PAGE_SIZE } from '../src/privacy/export/export-tenant-job.js';
import { LocalDirectoryStorage } from '../src/privacy/export/export-storage.js';
import { writeTenantArchive } from '../src/privacy/export/write-archive.js';
import { enterTenant } from '../src/tenancy/enter-tenant.js';
import { machine, median, migrateBenchDatabase, openBenchDatabase } from './support/bench-harness.js';

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const roles = loadConfig({ TENANTRY_JWT_SECRET: 'x'.repeat(32) }).roles;

interface SideResult {
  readonly rows: number;
  readonly seconds: number;
  readonly rowsPerSecond: number;
  /** Resident set size when the side's work began, and its peak (the process's maxRSS). */
  readonly startRssMiB: number;
  readonly peakRssMiB: number;
  readonly outputBytes: number;
}

// ---- the two sides, each run as `--side export|copy <tenant> <app url> <out dir>` in a child ----

async function exportSide(tenantId: string, appUrl: string, outDir: string): Promise<Omit<SideResult, 'startRssMiB' | 'peakRssMiB'>> {
  const logger = createLogger('warn');
  const pool = createPool(appUrl, 2, logger);
  const modules = new ModuleRegistry(builtInModules);
  const db = new Database({ pool, roles, logger, modules });
  const started = performance.now();
  const archive = await enterTenant(tenantId, () =>
    writeTenantArchive({
      db,
      modules,
      storage: new LocalDirectoryStorage(join(outDir, 'archives')),
      stagingDir: join(outDir, 'staging'),
      tenantId,
      exportId: randomUUID(),
      createdAt: new Date(),
      pageSize: EXPORT_PAGE_SIZE,
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.end();
  const rows = archive.manifest.tables.reduce((sum, table) => sum + table.rows, 0);
  return { rows, seconds, rowsPerSecond: rows / seconds, outputBytes: archive.bytes };
}

/** A minimal COPY … TO STDOUT for node-postgres (pg-copy-streams is not a dependency): bytes to a sink, with backpressure. */
class CopyOut extends EventEmitter {
  rows = 0;
  readonly done: Promise<void>;
  #resolve!: () => void;
  #reject!: (error: Error) => void;
  #error: Error | undefined;

  constructor(
    readonly text: string,
    readonly sink: NodeJS.WritableStream,
  ) {
    super();
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }
  submit(connection: { query(text: string): void }): void {
    connection.query(this.text);
  }
  #paused = false;
  handleCopyData(message: { chunk: Buffer }, connection: { stream: NodeJS.ReadableStream }): void {
    // Messages already parsed still arrive while paused: only the first full write pauses.
    if (!this.sink.write(message.chunk) && !this.#paused) {
      this.#paused = true;
      connection.stream.pause();
      this.sink.once('drain', () => {
        this.#paused = false;
        connection.stream.resume();
      });
    }
  }
  handleCommandComplete(message: { text: string }): void {
    this.rows = Number(message.text.split(' ')[1] ?? 0);
  }
  handleError(error: Error): void {
    this.#error = error;
  }
  handleReadyForQuery(): void {
    if (this.#error) this.#reject(this.#error);
    else this.#resolve();
  }
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}
}

async function copySide(tenantId: string, appUrl: string, outDir: string): Promise<Omit<SideResult, 'startRssMiB' | 'peakRssMiB'>> {
  const client = new pg.Client({ connectionString: appUrl });
  await client.connect();
  const path = join(outDir, 'copy.tsv');
  const file = createWriteStream(path);
  const started = performance.now();
  // The same scoping a tenant unit has (the app role under RLS, the tenant set), and the
  // same rows: every tenant table, as the export reads them.
  await client.query(`BEGIN; SET LOCAL ROLE "${roles.app}"; SET LOCAL app.tenant_id = '${tenantId}'`);
  let rows = 0;
  for (const table of new ModuleRegistry(builtInModules).tenantTableDeclarations().filter((declaration) => declaration.exported !== false)) {
    const copy = new CopyOut(`COPY (SELECT * FROM ${table.name} WHERE tenant_id = '${tenantId}') TO STDOUT`, file);
    client.query(copy as never);
    await copy.done;
    rows += copy.rows;
  }
  await client.query('COMMIT');
  file.end();
  await finished(file);
  const seconds = (performance.now() - started) / 1000;
  await client.end();
  return { rows, seconds, rowsPerSecond: rows / seconds, outputBytes: (await stat(path)).size };
}

async function runSide(side: string, tenantId: string, appUrl: string, outDir: string): Promise<void> {
  const startRssMiB = process.memoryUsage().rss / 2 ** 20;
  const result = side === 'export' ? await exportSide(tenantId, appUrl, outDir) : await copySide(tenantId, appUrl, outDir);
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ ...result, startRssMiB, peakRssMiB })}\n`);
}

// ---- the driver ----

function child(side: string, tenantId: string, appUrl: string, outDir: string): Promise<SideResult> {
  return new Promise((resolve, reject) => {
    // EXPORT_CPU_PROF=<dir>: a V8 CPU profile of each side, to see where its time goes.
    const profile = process.env.EXPORT_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.EXPORT_CPU_PROF] : [];
    const process_ = spawn(process.execPath, [...profile, '--import', 'tsx', 'bench/export.bench.ts', '--side', side, tenantId, appUrl, outDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    process_.stdout.on('data', (chunk) => (output += chunk));
    process_.on('exit', (code) => {
      const line = output.trim().split('\n').at(-1);
      if (code === 0 && line) resolve(JSON.parse(line));
      else reject(new Error(`${side} side exited with ${code}: ${output}`));
    });
  });
}

/** A tenant with `rows` tasks in one project (generate_series, as the superuser), and an owner. */
async function seedTenant(admin: pg.Client, label: string, rows: number): Promise<string> {
  const tenantId = newId();
  const userId = newId();
  const projectId = newId();
  await admin.query(`INSERT INTO tenants (id, name, slug) VALUES ($1, $2, $3)`, [tenantId, `Bench ${label}`, `bench-${label}-${tenantId.slice(-6)}`]);
  await admin.query(`INSERT INTO users (id, email, name) VALUES ($1, $2, 'Bench owner')`, [userId, `owner-${userId}@bench.test`]);
  await admin.query(`INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'owner')`, [tenantId, userId]);
  await admin.query(`INSERT INTO projects (tenant_id, id, name, created_by) VALUES ($1, $2, 'bench', $3)`, [tenantId, projectId, userId]);
  await admin.query(
    `INSERT INTO tasks (tenant_id, id, project_id, title, description, status, created_by, created_at)
     SELECT $1, gen_random_uuid(), $2, 'task number ' || g, repeat('lorem ipsum ', 5), (ARRAY['todo','in_progress','done'])[1 + g % 3], $3,
            now() - make_interval(secs => g)
       FROM generate_series(1, $4::int) g`,
    [tenantId, projectId, userId, rows - 1], // with the project and membership, `rows` rows in all
  );
  await admin.query(`ANALYZE tasks`);
  return tenantId;
}

async function main(): Promise<void> {
  const database = await openBenchDatabase();
  const outRoot = await mkdtemp(join(tmpdir(), 'tenantry-export-bench-'));
  try {
    const env = await migrateBenchDatabase(database.url, roles);
    const appUrl = env.TENANTRY_APP_DATABASE_URL!;
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    // FORCE RLS applies to the superuser too unless it bypasses: seed as it (it does).
    const sizes = { small: Math.round(ROWS / 10), large: ROWS };
    const tenants: Record<string, string> = {};
    for (const [label, rows] of Object.entries(sizes)) {
      const seedStarted = performance.now();
      tenants[label] = await seedTenant(admin, label, rows);
      console.error(`seeded ${label}: ${rows} rows in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);
    }
    await admin.end();
    const results: Record<string, { export: SideResult[]; copy: SideResult[] }> = {};
    const loadBefore = loadavg();
    for (let round = 0; round < ROUNDS; round++) {
      for (const label of Object.keys(sizes)) {
        results[label] ??= { export: [], copy: [] };
        // Alternate which side goes first, so neither always meets a warmer cache.
        const order = round % 2 === 0 ? (['export', 'copy'] as const) : (['copy', 'export'] as const);
        for (const side of order) {
          const outDir = join(outRoot, `${label}-${side}-${round}`);
          await mkdir(outDir, { recursive: true });
          const result = await child(side, tenants[label]!, appUrl, outDir);
          results[label]![side].push(result);
          console.error(`${label} ${side} round ${round + 1}: ${result.rows} rows, ${Math.round(result.rowsPerSecond)} rows/s, peak RSS ${result.peakRssMiB.toFixed(0)} MiB`);
          await rm(outDir, { recursive: true, force: true });
        }
      }
    }
    const summary = Object.fromEntries(
      Object.entries(results).map(([label, sides]) => {
        const pick = (side: 'export' | 'copy') => ({
          rows: sides[side][0]!.rows,
          rowsPerSecond: Math.round(median(sides[side].map((r) => r.rowsPerSecond))),
          seconds: Number(median(sides[side].map((r) => r.seconds)).toFixed(2)),
          startRssMiB: Math.round(median(sides[side].map((r) => r.startRssMiB))),
          peakRssMiB: Math.round(Math.max(...sides[side].map((r) => r.peakRssMiB))),
          outputMiB: Number((sides[side][0]!.outputBytes / 2 ** 20).toFixed(1)),
        });
        const exported = pick('export');
        const copied = pick('copy');
        return [label, { export: exported, copy: copied, throughputRatio: Number((exported.rowsPerSecond / copied.rowsPerSecond).toFixed(2)) }];
      }),
    );
    const recorded = {
      benchmark: 'export',
      date: new Date().toISOString(),
      machine: machine(),
      loadAverage: { before: loadBefore.map((n) => Number(n.toFixed(2))), after: loadavg().map((n) => Number(n.toFixed(2))) },
      database: database.external ? 'DATABASE_URL' : 'embedded PostgreSQL',
      rounds: ROUNDS,
      pageSize: EXPORT_PAGE_SIZE,
      results: summary,
      peakRssGrowthLargeOverSmallMiB: summary.large!.export.peakRssMiB - summary.small!.export.peakRssMiB,
    };
    await mkdir('bench/results', { recursive: true });
    await writeFile('bench/results/export.json', `${JSON.stringify(recorded, null, 2)}\n`);
    await writeFile('bench/results/export.md', report(recorded));
    console.log(report(recorded));
  } finally {
    await rm(outRoot, { recursive: true, force: true });
    await database.drop();
  }
}

function report(recorded: Record<string, any>): string {
  const lines = [
    `# bench:export — ${recorded.date}`,
    '',
    `Machine: ${recorded.machine.cpus} cores (${recorded.machine.model}), ${recorded.machine.memoryGiB} GiB, Node ${recorded.machine.node}; ${recorded.database}; load average before ${recorded.loadAverage.before.join(' / ')}, after ${recorded.loadAverage.after.join(' / ')}. Medians of ${recorded.rounds} round(s); peak RSS is the highest seen. Export pages: ${recorded.pageSize} rows.`,
    '',
    '| Tenant | Side | Rows | Rows/s | Seconds | RSS at start (MiB) | Peak RSS (MiB) | Output (MiB) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const [label, result] of Object.entries<any>(recorded.results)) {
    for (const side of ['export', 'copy']) {
      const r = result[side];
      lines.push(`| ${label} | ${side === 'export' ? 'tenant export (tar.gz)' : 'COPY … TO STDOUT (text)'} | ${r.rows} | ${r.rowsPerSecond} | ${r.seconds} | ${r.startRssMiB} | ${r.peakRssMiB} | ${r.outputMiB} |`);
    }
    lines.push(`| ${label} | export / COPY | | ${result.throughputRatio}× | | | | |`);
  }
  lines.push('', `Peak RSS of the export, large tenant minus small (10× the rows): ${recorded.peakRssGrowthLargeOverSmallMiB} MiB.`, '');
  return lines.join('\n');
}

if (process.argv[2] === '--side') {
  const [, , , side, tenantId, appUrl, outDir] = process.argv;
  await runSide(side!, tenantId!, appUrl!, outDir!);
  process.exit(0);
} else {
  await main();
}
