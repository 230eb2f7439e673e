// On 100k tasks across 1k tenants, the tenant-scoped task list is planned as an index scan
// on a tenant_id-prefixed index: the RLS setting is an InitPlan, not a per-row filter.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { runWithContext } from '../../src/tenancy/context.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import type { TaskTables } from '../../src/domain/tasks/task-tables.js';

let testApp: TestApp;
let tenantId: string;

beforeAll(async () => {
  testApp = await startTestApp();
  const admin = testApp.database.admin;
  await admin.query(`
    INSERT INTO tenants (id, name, slug)
      SELECT gen_random_uuid(), 'Tenant ' || g, 'tenant-' || g FROM generate_series(1, 1000) g;
    INSERT INTO projects (tenant_id, id, name) SELECT id, gen_random_uuid(), 'Project' FROM tenants;
    INSERT INTO tasks (tenant_id, id, project_id, title, created_at)
      SELECT p.tenant_id, gen_random_uuid(), p.id, 'Task ' || g, now() - g * interval '1 minute'
      FROM projects p CROSS JOIN generate_series(1, 100) g;
    ANALYZE tenants, projects, tasks;
  `);
  const { rows } = await admin.query(`SELECT tenant_id FROM projects LIMIT 1 OFFSET 500`);
  tenantId = rows[0].tenant_id;
}, 120_000);

afterAll(async () => {
  await testApp.close();
});

function planNodes(plan: Record<string, unknown>): Array<Record<string, unknown>> {
  const children = (plan.Plans as Array<Record<string, unknown>> | undefined) ?? [];
  return [plan, ...children.flatMap(planNodes)];
}

it('uses a tenant_id-prefixed index for one tenant\'s newest tasks', async () => {
  const { rows } = await testApp.database.admin.query(`SELECT count(*)::int AS n, count(DISTINCT tenant_id)::int AS t FROM tasks`);
  expect(rows[0]).toEqual({ n: 100_000, t: 1000 });

  const explained = await runWithContext({ requestId: 'explain', tenantId }, () =>
    testApp.services.db.withTables<TaskTables>().tenant((tx) =>
      tx
        .selectFrom('tasks')
        .selectAll()
        .where('deleted_at', 'is', null)
        .orderBy('created_at', 'desc')
        .limit(50)
        .explain('json'),
    ),
  );
  const plan = (explained[0] as { 'QUERY PLAN': Array<{ Plan: Record<string, unknown> }> })['QUERY PLAN'][0]!.Plan;
  const nodes = planNodes(plan);
  const scans = nodes.filter((node) => String(node['Node Type']).includes('Scan') && node['Relation Name'] === 'tasks');
  expect(scans.map((s) => s['Node Type'])).not.toContain('Seq Scan');
  expect(scans.some((s) => String(s['Index Name']).startsWith('tasks_tenant_'))).toBe(true);
});
