// bench:isolation — requests/s of GET /v1/tasks (50 rows, one tenant of 1,000) through the
// scoped helper, against the same query unscoped through the same server, in the same run.

import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import autocannon from 'autocannon';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { machine, median, migrateBenchDatabase, openBenchDatabase, startBenchServer, stopBenchServer } from './support/bench-harness.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const TENANTS = 1000;
const TASKS_PER_TENANT = 100;

async function seed(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`
    INSERT INTO tenants (id, name, slug) SELECT gen_random_uuid(), 'Tenant ' || g, 'bench-' || g FROM generate_series(1, ${TENANTS}) g;
    INSERT INTO projects (tenant_id, id, name) SELECT id, gen_random_uuid(), 'Project' FROM tenants;
    INSERT INTO tasks (tenant_id, id, project_id, title, description, created_at)
      SELECT p.tenant_id, gen_random_uuid(), p.id, 'Task ' || g, 'Description of task ' || g, now() - g * interval '1 minute'
      FROM projects p CROSS JOIN generate_series(1, ${TASKS_PER_TENANT}) g;
  `).finally(() => {});
  await client.query('VACUUM ANALYZE tenants, projects, tasks').finally(() => client.end());
}

async function load(url: string, token: string): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { authorization: `Bearer ${token}` },
  });
  const errors = result.errors + result.non2xx + result.timeouts;
  // A rate of failures is not a rate of work: any error invalidates the run.
  if (errors > 0) throw new Error(`${url}: ${errors} failed requests (non-2xx ${result.non2xx}, errors ${result.errors})`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors };
}

const database = await openBenchDatabase();
const url = database.url;
let server: ChildProcess | undefined;
try {
  const roles = loadConfig({ TENANTRY_JWT_SECRET: 'x'.repeat(32), DATABASE_URL: url }).roles;
  const databaseEnv = await migrateBenchDatabase(url, roles);
  await seed(url);
  const jwtSecret = randomBytes(32).toString('hex');
  const started = await startBenchServer({ ...databaseEnv, TENANTRY_JWT_SECRET: jwtSecret, TENANTRY_DB_POOL_SIZE: '16' });
  server = started.child;

  // One more tenant, signed up through the API, is the one we read as.
  const signUp = await fetch(`${started.address}/v1/tenants`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Bench', slug: 'bench-reader', owner: { email: 'bench@example.test', password: 'bench password 123', name: 'B' } }),
  });
  const { accessToken, tenant } = (await signUp.json()) as { accessToken: string; tenant: { id: string } };
  const project = new pg.Client({ connectionString: url });
  await project.connect();
  await project
    .query(
    // Enterprise: no API rate limit, so the load measures the data path, not 429s.
    `UPDATE tenants SET plan = 'enterprise' WHERE id = $1;
     INSERT INTO projects (tenant_id, id, name) VALUES ($1, gen_random_uuid(), 'Reader project');
     INSERT INTO tasks (tenant_id, id, project_id, title, created_at)
       SELECT $1, gen_random_uuid(), p.id, 'Task ' || g, now() - g * interval '1 minute'
       FROM projects p CROSS JOIN generate_series(1, ${TASKS_PER_TENANT}) g WHERE p.tenant_id = $1;
     ANALYZE tasks;`.replace(/\$1/g, `'${tenant.id}'`),
    )
    .finally(() => project.end());

  const scopedUrl = `${started.address}/v1/tasks?limit=50`;
  const unscopedUrl = `${started.address}/bench/unscoped-tasks?limit=50`;
  for (const check of [scopedUrl, unscopedUrl]) {
    const response = await fetch(check, { headers: { authorization: `Bearer ${accessToken}` } });
    const body = (await response.json()) as { data: unknown[] };
    if (response.status !== 200 || body.data.length !== 50) throw new Error(`${check}: ${response.status}, ${body.data?.length} rows`);
  }
  await load(scopedUrl, accessToken); // warm-up, discarded
  await load(unscopedUrl, accessToken);

  const scoped: number[] = [];
  const unscoped: number[] = [];
  const detail: unknown[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate the order so drift (heat, caches) does not favour one side.
    const order = round % 2 ? ['scoped', 'unscoped'] : ['unscoped', 'scoped'];
    for (const side of order) {
      const r = await load(side === 'scoped' ? scopedUrl : unscopedUrl, accessToken);
      (side === 'scoped' ? scoped : unscoped).push(r.rps);
      detail.push({ round, side, ...r });
      console.log(`round ${round} ${side.padEnd(8)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  errors ${r.errors}`);
    }
  }
  const ratio = median(scoped) / median(unscoped);
  const summary = {
    benchmark: 'isolation',
    date: new Date().toISOString(),
    machine: machine(),
    database: database.external ? 'external' : 'embedded',
    setup: { tenants: TENANTS + 1, tasksPerTenant: TASKS_PER_TENANT, rows: 50, connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS },
    scopedRps: Math.round(median(scoped)),
    unscopedRps: Math.round(median(unscoped)),
    ratio: Number(ratio.toFixed(3)),
    target: 0.85,
    rounds: detail,
  };
  console.log(`\nGET /v1/tasks scoped ${summary.scopedRps} req/s vs unscoped ${summary.unscopedRps} req/s: ratio ${summary.ratio} (target >= 0.85)`);
  await writeFile('bench/results/isolation.json', JSON.stringify(summary, null, 2) + '\n');
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await stopBenchServer(server);
  await database.drop();
}
