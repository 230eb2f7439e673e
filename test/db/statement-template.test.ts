// Statement templates (db/statement-template.ts): a hot statement compiled once per shape and
// sent with each call's values. The compiled text is shared by every tenant's calls, so each
// call must still answer only its own tenant's rows, with both isolation layers and with each
// alone; a call's values cannot name another tenant into reach; the builder runs once per
// shape; and a template answers exactly what the same statement built per call answers.

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database, Tx } from '../../src/db/database.js';
import type { Tables } from '../../src/db/tables.js';
import { statementTemplate, type TemplateParams } from '../../src/db/statement-template.js';
import { TenantScopeViolation } from '../../src/db/tenant-scope-plugin.js';
import type { SortOrder } from '../../src/db/keyset-page.js';
import { microsecondISOString } from '../../src/db/timestamps.js';
import { listTasksQuery, listTasksStatement, type TaskFilter } from '../../src/domain/tasks/task-repository.js';
import type { TaskStatus, TaskTables } from '../../src/domain/tasks/task-tables.js';
import { runWithContext } from '../../src/tenancy/context.js';
import { ISOLATION_LAYERS, startIsolationHarness, type IsolationHarness } from '../support/isolation-harness.js';
import type { TestTables } from '../support/modules.js';
import type { SeededTenant } from '../support/seed.js';

let harness: IsolationHarness;

beforeAll(async () => {
  harness = await startIsolationHarness(2);
  // Each tenant's tasks in two statuses, more of them for A, so an answer carrying A's rows
  // into B's call (or the other way) would show.
  for (const [tenant, count] of [
    [harness.a, 12],
    [harness.b, 5],
  ] as const) {
    await harness.database.admin.query(
      `INSERT INTO tasks (id, tenant_id, project_id, title, status, created_by, created_at)
         SELECT gen_random_uuid(), $1, $2, 'task ' || g, CASE WHEN g % 2 = 0 THEN 'done' ELSE 'todo' END, $3,
                now() - g * interval '1 minute'
           FROM generate_series(1, $4::int) g`,
      [tenant.tenantId, tenant.projectId, tenant.userId, count],
    );
  }
});

afterAll(async () => {
  await harness.close();
});

const actingAs = <T>(tenant: SeededTenant, work: () => Promise<T>) => runWithContext({ requestId: 'template', tenantId: tenant.tenantId }, work);

let builds = 0;
const byStatus = statementTemplate(
  (tx: Tx<TestTables>, shape: { sort: SortOrder }, p: TemplateParams<{ status: TaskStatus }>) => {
    builds++;
    return tx.selectFrom('tasks').select(['id', 'tenant_id', 'status']).where('status', '=', p.status).orderBy('created_at', shape.sort);
  },
);

describe('a statement template', () => {
  for (const [layer, make] of Object.entries(ISOLATION_LAYERS)) {
    it(`compiled in one tenant's call answers every later call with its own tenant's rows (${layer})`, async () => {
      const db = make(harness);
      for (const prepared of [false, true]) {
        const first = await actingAs(harness.a, () => db.tenantStatement(byStatus.with({ sort: 'asc' }, { status: 'todo' }), { prepared }));
        expect(first.length, layer).toBe(7);
        expect(new Set(first.map((row) => row.tenant_id)), layer).toEqual(new Set([harness.a.tenantId]));
        const ofB = await actingAs(harness.b, () => db.tenantStatement(byStatus.with({ sort: 'asc' }, { status: 'todo' }), { prepared }));
        expect(ofB.length, layer).toBe(4);
        expect(new Set(ofB.map((row) => row.tenant_id)), layer).toEqual(new Set([harness.b.tenantId]));
        const doneOfB = await actingAs(harness.b, () => db.tenantStatement(byStatus.with({ sort: 'asc' }, { status: 'done' }), { prepared }));
        expect(doneOfB.map((row) => [row.tenant_id, row.status]), layer).toEqual([
          [harness.b.tenantId, 'done'],
          [harness.b.tenantId, 'done'],
        ]);
      }
    });

    it(`cannot be told another tenant's id through its values (${layer})`, async () => {
      const db = make(harness);
      const named = statementTemplate((tx: Tx<TestTables>, _shape: object, p: TemplateParams<{ tenant: string }>) =>
        tx.selectFrom('tasks').select(['id', 'tenant_id']).where('tenant_id', '=', p.tenant),
      );
      const own = await actingAs(harness.a, () => db.tenantStatement(named.with({}, { tenant: harness.a.tenantId })));
      expect(own.length, layer).toBe(13);
      const other = await actingAs(harness.a, () => db.tenantStatement(named.with({}, { tenant: harness.b.tenantId })));
      expect(other, layer).toEqual([]);
    });
  }

  it('is built and compiled once per shape, whichever tenant calls', async () => {
    const db = harness.bothLayers();
    const before = builds;
    for (let run = 0; run < 3; run++) {
      for (const tenant of [harness.a, harness.b]) {
        for (const sort of ['asc', 'desc'] as const) {
          const rows = await actingAs(tenant, () => db.tenantStatement(byStatus.with({ sort }, { status: 'done' })));
          expect(rows.every((row) => row.tenant_id === tenant.tenantId && row.status === 'done')).toBe(true);
        }
      }
    }
    expect(builds - before).toBe(2);
    // Another database (its own tenant filter and settings) compiles its own.
    await actingAs(harness.a, () => harness.rlsOnly().tenantStatement(byStatus.with({ sort: 'asc' }, { status: 'done' })));
    expect(builds - before).toBe(3);
  });

  it("refuses a call that leaves out a value its shape needs, before anything is sent", async () => {
    const db = harness.bothLayers();
    const call = byStatus.with({ sort: 'desc' }, {} as { status: TaskStatus });
    await expect(actingAs(harness.a, () => db.tenantStatement(call))).rejects.toThrow(/"status" is missing/);
    // Built inside a unit of work, the same: not a NULL.
    await expect(
      actingAs(harness.a, () => db.tenant((tx) => byStatus.build(tx, { sort: 'desc' }, {} as { status: TaskStatus }).execute())),
    ).rejects.toThrow(/"status" is missing/);
  });

  it('goes through the tenant filter like any statement: raw SQL reading a tenant table is refused, on every call', async () => {
    const db = harness.bothLayers();
    const sneaky = statementTemplate((tx: Tx<TestTables>, _shape: object, p: TemplateParams<{ title: string }>) =>
      tx.selectFrom('projects').select(['id']).where(sql<boolean>`exists (select 1 from tasks where title = ${p.title})`),
    );
    for (let run = 0; run < 2; run++) {
      await expect(actingAs(harness.a, () => db.tenantStatement(sneaky.with({}, { title: 'task 1' })))).rejects.toBeInstanceOf(TenantScopeViolation);
    }
  });
});

describe('the task list as a template', () => {
  it('answers what the same list built per call answers, for every shape', async () => {
    // The task module's own view of the database: its tables beside the platform's.
    const db = harness.bothLayers() as unknown as Database<Tables & TaskTables>;
    const [first] = await actingAs(harness.a, () => db.tenantStatement(listTasksStatement({}, { limit: 4, sort: 'desc' })));
    const filters: TaskFilter[] = [{}, { status: 'done' }, { text: 'task 1' }, { projectId: harness.a.projectId, assigneeId: harness.a.userId }];
    for (const filter of filters) {
      for (const sort of ['asc', 'desc'] as const) {
        for (const after of [undefined, { at: microsecondISOString(first!.created_at)!, id: first!.id }]) {
          const page = { limit: 4, sort, after };
          const templated = await actingAs(harness.a, () => db.tenantStatement(listTasksStatement(filter, page), { prepared: true }));
          const built = await actingAs(harness.a, () => db.tenantStatement((tx) => listTasksQuery(tx, filter, page)));
          expect(templated, JSON.stringify({ filter, sort, after: Boolean(after) })).toEqual(built);
        }
      }
    }
  });
});
