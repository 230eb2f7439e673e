// How PostgreSQL plans the recall of a tenant holding 20k of 50k memories, under forced RLS.
// PostgreSQL evaluates a query's conditions after a policy's unless their operators are
// LEAKPROOF, and `@@` and `%>` are not: read as the app role, the words could never reach a
// GIN index, and every row of the tenant was read and filtered. Recall's candidates are
// therefore found by tenantry_memory.recall_text_candidates (memory migrations 0006, 0008), which
// runs as the service role: there each of its two arms reaches its GIN index led by tenant_id
// with the words as index condition (the trigram arm only when text search misses a word), and
// reads each candidate's row once (no join back by id). The recall statement ranks what the
// function returns and reads the answered memories' rows by primary key, as the app role.
// auto_explain shows the plan the function's own statement ran with.
// The timeline is planned on the tenant_id-prefixed btree.

import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { pageMemoriesQuery } from '../../src/memory/memory-repository.js';
import type { MemoryTx } from '../../src/memory/memory-tables.js';
import { recallQuery } from '../../src/memory/recall-repository.js';
import { asTenant, startIsolationHarness, type IsolationHarness } from '../support/isolation-harness.js';
import type { TestTables } from '../support/modules.js';
import { TEST_ROLES } from '../support/roles.js';

let harness: IsolationHarness;

beforeAll(async () => {
  harness = await startIsolationHarness();
  // The harness lifts FORCE for its query-filter-only mode; these plans are the forced ones.
  await harness.database.admin.query('ALTER TABLE memories FORCE ROW LEVEL SECURITY');
  // A among a hundred tenants of 300 memories each: a fifth of the table.
  await harness.database.admin.query(
    `INSERT INTO tenants (id, name, slug) SELECT gen_random_uuid(), 'Tenant ' || g, 'plan-tenant-' || g FROM generate_series(1, 100) g;
     INSERT INTO memories (tenant_id, id, content, importance)
       SELECT t.id, gen_random_uuid(),
              (ARRAY['deploy', 'invoice', 'customer', 'holiday', 'roadmap', 'meeting', 'budget'])[1 + g % 7] || ' note ' || md5(g::text)
                || CASE WHEN g % 200 = 0 THEN ' about the outage' ELSE '' END,
              (g % 10) / 10.0
         FROM tenants t CROSS JOIN generate_series(1, CASE WHEN t.id = $1 THEN 20000 ELSE 300 END) g
        WHERE t.id = $1 OR t.slug LIKE 'plan-tenant-%';
     ANALYZE memories`.replace(/\$1/g, `'${harness.a.tenantId}'`),
  );
}, 180_000);

afterAll(() => harness.close());

type PlanNode = Record<string, unknown>;

function planNodes(plan: PlanNode): PlanNode[] {
  const children = (plan.Plans as PlanNode[] | undefined) ?? [];
  return [plan, ...children.flatMap(planNodes)];
}

/** The nodes of the plan of `explain`, run as tenant A. */
async function planOf(db: Database<TestTables>, explain: (tx: MemoryTx) => Promise<unknown[]>): Promise<PlanNode[]> {
  const explained = await asTenant(harness.a, db, (tx) => explain(tx as unknown as MemoryTx));
  return planNodes((explained[0] as { 'QUERY PLAN': Array<{ Plan: PlanNode }> })['QUERY PLAN'][0]!.Plan);
}

const memoryScans = (nodes: PlanNode[]) =>
  nodes.filter((node) => node['Relation Name'] === 'memories' || String(node['Index Name'] ?? '').startsWith('memories_'));

/**
 * The plan recall_candidates' own statement ran with, as the app role in A's scope (or in no
 * tenant's), taken by auto_explain from inside the function.
 */
async function candidatePlan(tenantId: string, q: string): Promise<{ rows: number; nodes: PlanNode[] }> {
  const client = new pg.Client({ connectionString: harness.database.url });
  await client.connect();
  const plans: PlanNode[] = [];
  client.on('notice', (notice) => {
    const text = String(notice.message);
    const json = text.slice(text.indexOf('{'));
    if (text.includes('"Plan"')) plans.push((JSON.parse(json) as { Plan: PlanNode }).Plan);
  });
  try {
    await client.query(`LOAD 'auto_explain'`);
    await client.query('BEGIN');
    await client.query(`SET LOCAL auto_explain.log_min_duration = 0; SET LOCAL auto_explain.log_nested_statements = on; SET LOCAL auto_explain.log_analyze = on;
      SET LOCAL auto_explain.log_format = json; SET LOCAL client_min_messages = log`);
    await client.query(`SET LOCAL app.tenant_id = '${tenantId}'; SET LOCAL ROLE ${TEST_ROLES.app}`);
    const { rows } = await client.query(
      'SELECT * FROM tenantry_memory.recall_text_candidates($1, NULL, NULL, NULL, NULL, NULL, NULL)',
      [q],
    );
    await client.query('ROLLBACK');
    // The outer SELECT's plan is logged last; the function's statement before it.
    const inner = plans.find((plan) => planNodes(plan).some((node) => node['Relation Name'] === 'memories'));
    return { rows: rows.length, nodes: inner ? planNodes(inner) : [] };
  } finally {
    await client.end();
  }
}

/** The index condition of each GIN scan, by index. */
function ginConditions(scans: PlanNode[]): Array<[string, string]> {
  return scans
    .filter((scan) => /_(search|trigram)_idx$/.test(String(scan['Index Name'])))
    .map((scan) => [String(scan['Index Name']), String(scan['Index Cond'])] as [string, string]);
}

it('finds the candidates on the GIN indexes led by tenant_id, with the words as index conditions', async () => {
  const { rows, nodes } = await candidatePlan(harness.a.tenantId, 'outage');
  expect(rows).toBe(100);
  const conditions = ginConditions(memoryScans(nodes));
  expect(conditions.map(([index]) => index).sort()).toEqual(['memories_search_idx', 'memories_trigram_idx']);
  expect(conditions.find(([index]) => index === 'memories_search_idx')![1]).toMatch(/tenant_id = .*@@/);
  expect(conditions.find(([index]) => index === 'memories_trigram_idx')![1]).toMatch(/tenant_id = .*%>/);
  expect(nodes.map((node) => node['Node Type'])).not.toContain('Seq Scan');
  // Each candidate's row is read once, by its arm: memories is read by the two GIN scans only.
  expect(memoryScans(nodes).filter((scan) => scan['Node Type'] !== 'Bitmap Index Scan').map((scan) => scan['Node Type'])).toEqual(['Bitmap Heap Scan', 'Bitmap Heap Scan']);
});

it('reads the answered rows by primary key as the app role, under RLS and the query filter', async () => {
  const nodes = await planOf(harness.bothLayers(), (tx) => recallQuery(tx, 'outage', {}, 10, new Date()).explain('json'));
  expect(nodes.some((node) => node['Node Type'] === 'Function Scan' && node['Function Name'] === 'recall_text_candidates')).toBe(true);
  const scans = memoryScans(nodes);
  expect(scans.map((scan) => scan['Index Name'])).toEqual(['memories_pkey']);
  // The query filter's tenant on the read of memories; the policy's (its setting, an InitPlan)
  // equal to the same tenant, which the planner checks once as a one-time filter.
  expect(String(scans[0]!['Index Cond'])).toMatch(new RegExp(`tenant_id = '${harness.a.tenantId}'`));
  const oneTime = nodes.map((node) => String(node['One-Time Filter'] ?? '')).join(' ');
  expect(oneTime).toMatch(new RegExp(`(InitPlan \\d+\\)\\.col1|\\$\\d+) = '${harness.a.tenantId}'`));
  // Run: of the 100 candidates, only the 10 answered are read again by id (ranked first from
  // what the function returned), and the trigram arm never ran (text search found the word).
  const run = memoryScans(await planOf(harness.bothLayers(), (tx) => recallQuery(tx, 'outage', {}, 10, new Date()).explain('json', sql`analyze`)));
  expect(run.map((scan) => [scan['Index Name'], Number(scan['Actual Loops']) * Number(scan['Actual Rows'])])).toEqual([['memories_pkey', 10]]);
  const { nodes: inner } = await candidatePlan(harness.a.tenantId, 'outage');
  const trigramScan = inner.find((node) => node['Index Name'] === 'memories_trigram_idx')!;
  expect(trigramScan['Actual Loops']).toBe(0);
});

it("plans one tenant's timeline on its tenant_id-prefixed index", async () => {
  const scans = memoryScans(await planOf(harness.bothLayers(), (tx) => pageMemoriesQuery(tx, {}, { limit: 50, sort: 'asc' }).explain('json')));
  expect(scans.map((scan) => scan['Node Type'])).not.toContain('Seq Scan');
  expect(scans.some((scan) => String(scan['Index Name']).startsWith('memories_tenant_'))).toBe(true);
});
