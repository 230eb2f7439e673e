// How PostgreSQL plans the recall of a tenant holding 20k of 50k memories. With the query
// filter alone (RLS bypassed), each arm of the candidate UNION reaches its GIN index led by
// tenant_id with the words as index condition (text search, trigrams). Under forced RLS the
// words cannot reach an index: PostgreSQL evaluates a query's conditions after the policy's
// unless their operators are LEAKPROOF, and `@@` and `%>` are not, so the tenant's rows are
// read and filtered. That costs recall time on large tenants (docs/memory.md); this test
// fails when it changes, either way. The timeline is planned on the tenant_id-prefixed btree.

import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { pageMemoriesQuery } from '../../src/memory/memory-repository.js';
import type { MemoryTx } from '../../src/memory/memory-tables.js';
import { recallQuery } from '../../src/memory/recall-repository.js';
import { asTenant, startIsolationHarness, type IsolationHarness } from '../support/isolation-harness.js';
import type { TestTables } from '../support/modules.js';

let harness: IsolationHarness;

beforeAll(async () => {
  harness = await startIsolationHarness();
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

function planNodes(plan: Record<string, unknown>): Array<Record<string, unknown>> {
  const children = (plan.Plans as Array<Record<string, unknown>> | undefined) ?? [];
  return [plan, ...children.flatMap(planNodes)];
}

/** The scans of memories in the plan of `explain`, run as tenant A. */
async function memoryScans(db: Database<TestTables>, explain: (tx: MemoryTx) => Promise<unknown[]>): Promise<Array<Record<string, unknown>>> {
  const explained = await asTenant(harness.a, db, (tx) => explain(tx as unknown as MemoryTx));
  const plan = (explained[0] as { 'QUERY PLAN': Array<{ Plan: Record<string, unknown> }> })['QUERY PLAN'][0]!.Plan;
  return planNodes(plan).filter((node) => node['Relation Name'] === 'memories' || String(node['Index Name'] ?? '').startsWith('memories_'));
}

const recallPlan = (db: Database<TestTables>) => memoryScans(db, (tx) => recallQuery(tx, 'outage', {}, 10, new Date()).explain('json'));

/** The index condition of each GIN scan, by index. */
function ginConditions(scans: Array<Record<string, unknown>>): Array<[string, string]> {
  return scans
    .filter((scan) => /_(search|trigram)_idx$/.test(String(scan['Index Name'])))
    .map((scan) => [String(scan['Index Name']), String(scan['Index Cond'])] as [string, string]);
}

it("under forced RLS, filters the tenant's rows by the words instead of finding them by index", async () => {
  const scans = await recallPlan(harness.bothLayers());
  // @@ and %> are not LEAKPROOF: they stay filters, never index conditions.
  expect(scans.filter((scan) => /@@|%>/.test(String(scan['Index Cond'] ?? '')))).toEqual([]);
  const filters = scans.map((scan) => String(scan.Filter ?? '')).join(' ');
  expect(filters).toMatch(/@@/);
  expect(filters).toMatch(/%>/);
});

it('plans each recall arm on its own index, by the words, where RLS does not apply', async () => {
  const conditions = ginConditions(await recallPlan(harness.filterOnly()));
  expect(conditions.map(([index]) => index).sort()).toEqual(['memories_search_idx', 'memories_trigram_idx']);
  expect(conditions.find(([index]) => index === 'memories_search_idx')![1]).toMatch(/tenant_id = .*@@/);
  expect(conditions.find(([index]) => index === 'memories_trigram_idx')![1]).toMatch(/tenant_id = .*%>/);
});

it("plans one tenant's timeline on its tenant_id-prefixed index", async () => {
  const scans = await memoryScans(harness.bothLayers(), (tx) => pageMemoriesQuery(tx, {}, { limit: 50, sort: 'asc' }).explain('json'));
  expect(scans.map((scan) => scan['Node Type'])).not.toContain('Seq Scan');
  expect(scans.some((scan) => String(scan['Index Name']).startsWith('memories_tenant_'))).toBe(true);
});
