// Every cross-tenant attack, run three times: with both layers on; with the query-layer
// filter off (RLS alone must hold); and with RLS bypassed by running as the table owner
// (the query layer alone must hold). Tenant B attacks tenant A's rows each time.

import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, Database, type Work } from '../../src/db/database.js';
import { newId } from '../../src/db/ids.js';
import { TEST_REGISTRY, type TestTables } from '../support/modules.js';
import { runWithContext } from '../../src/tenancy/context.js';
import { TEST_ROLES } from '../support/roles.js';
import { asTenant, silent, startIsolationHarness, type IsolationHarness } from '../support/isolation-harness.js';
import { tenantRowCounts } from '../support/row-counts.js';
import type { SeededTenant } from '../support/seed.js';
import type { TestDatabase } from '../support/test-database.js';

/** The registered modules' tenant tables. */
const TENANT_TABLE_ORDER = [...TEST_REGISTRY.tenantTables];

let harness: IsolationHarness;
let database: TestDatabase;
let pool: pg.Pool;
let a: SeededTenant;
let b: SeededTenant;

const modes = {
  'both layers': () => harness.bothLayers(),
  'RLS alone (query filter off)': () => harness.rlsOnly(),
  'query filter alone (RLS bypassed as owner)': () => harness.filterOnly(),
} as const;

beforeAll(async () => {
  harness = await startIsolationHarness();
  ({ database, pool, a, b } = harness);
});

afterAll(() => harness.close());

/** Every row of tenant A in every registered tenant table, read past both layers. */
async function snapshotOfA(): Promise<Array<{ table: string; row: string }>> {
  const { rows } = await database.admin.query<{ table: string; row: string }>(
    TENANT_TABLE_ORDER.map((table) => `SELECT '${table}' AS table, row_to_json(r)::text AS row FROM ${table} r WHERE tenant_id = $1`).join(
      ' UNION ALL ',
    ) + ' ORDER BY 1, 2',
    [a.tenantId],
  );
  return rows;
}

describe('the seeded tenants', () => {
  it('have rows in every registered tenant table, each of them', async () => {
    for (const tenant of [a, b]) {
      const counts = await tenantRowCounts(database.admin, tenant.tenantId);
      expect(TENANT_TABLE_ORDER.filter((table) => counts[table] === 0), tenant.label).toEqual([]);
    }
    expect(new Set((await snapshotOfA()).map((entry) => entry.table))).toEqual(new Set(TENANT_TABLE_ORDER));
  });
});

function asB<T>(db: Database<TestTables>, work: Work<T, TestTables>): Promise<T> {
  return asTenant(b, db, work);
}

describe('the owner-bypass mode really bypasses RLS', () => {
  it('lets the owner, unfiltered, see both tenants in every tenant table', async () => {
    const db = new Database<TestTables>({ modules: TEST_REGISTRY, pool, roles: { ...TEST_ROLES, app: TEST_ROLES.owner }, logger: silent, queryFilter: false });
    const titles = await asB(db, (tx) => tx.selectFrom('tasks').select('title').execute());
    expect(titles.map((t) => t.title).sort()).toEqual(['secret-task-A', 'secret-task-B']);
    for (const table of TENANT_TABLE_ORDER) {
      const rows = await asB(db, (tx) => tx.selectFrom(table as 'tasks').select('tenant_id').execute());
      expect(new Set(rows.map((row) => row.tenant_id)), table).toEqual(new Set([a.tenantId, b.tenantId]));
    }
  });
});

for (const [mode, makeDb] of Object.entries(modes)) {
  describe(`cross-tenant attacks: ${mode}`, () => {
    let db: Database<TestTables>;
    let before: unknown[];

    beforeAll(async () => {
      db = makeDb();
      before = await snapshotOfA();
      expect(new Set(before.map((entry) => (entry as { table: string }).table))).toEqual(new Set(TENANT_TABLE_ORDER));
    });

    afterAll(async () => {
      expect(await snapshotOfA()).toEqual(before);
    });

    it('cannot read a task of another tenant by id', async () => {
      const row = await asB(db, (tx) => tx.selectFrom('tasks').selectAll().where('id', '=', a.taskId).executeTakeFirst());
      expect(row).toBeUndefined();
    });

    it('gets only its own rows through the single-round-trip statement path', async () => {
      const byId = await runWithContext({ requestId: 'attack', tenantId: b.tenantId }, () =>
        db.tenantStatement((tx) => tx.selectFrom('tasks').select('id').where('id', '=', a.taskId)),
      );
      expect(byId).toEqual([]);
      const all = await runWithContext({ requestId: 'attack', tenantId: b.tenantId }, () =>
        db.tenantStatement((tx) => tx.selectFrom('tasks').select('title').where((eb) => eb.or([eb('title', 'like', '%A'), eb('title', 'like', '%B')]))),
      );
      expect(all.map((t) => t.title)).toEqual(['secret-task-B']);
      const updated = await runWithContext({ requestId: 'attack', tenantId: b.tenantId }, () =>
        db.tenantStatement((tx) => tx.updateTable('tasks').set({ title: 'pwned' }).where('id', '=', a.taskId).returning('id')),
      );
      expect(updated).toEqual([]);
    });

    it('lists only its own rows in every tenant table, and all of them', async () => {
      const counts = await tenantRowCounts(database.admin, b.tenantId);
      for (const table of TENANT_TABLE_ORDER) {
        const rows = await asB(db, (tx) => tx.selectFrom(table as 'tasks').select('tenant_id').execute());
        expect(rows.length, `${table}: B's rows`).toBe(counts[table]);
        expect(rows.filter((row) => row.tenant_id !== b.tenantId), `${table}: rows of another tenant`).toEqual([]);
      }
      const tasks = await asB(db, (tx) => tx.selectFrom('tasks').select('id').execute());
      expect(tasks.map((t) => t.id)).toEqual([b.taskId]);
    });

    it('finds nothing of another tenant by search', async () => {
      const found = await asB(db, (tx) =>
        tx.selectFrom('tasks').select('title').where('title', 'ilike', '%secret%').execute(),
      );
      expect(found.map((t) => t.title)).toEqual(['secret-task-B']);
    });

    it('cannot update another tenant\'s task', async () => {
      const result = await asB(db, (tx) =>
        tx.updateTable('tasks').set({ title: 'pwned' }).where('id', '=', a.taskId).executeTakeFirst(),
      );
      expect(result.numUpdatedRows).toBe(0n);
    });

    it('cannot widen an update with OR', async () => {
      const result = await asB(db, (tx) =>
        tx
          .updateTable('tasks')
          .set({ description: 'pwned' })
          .where((eb) => eb.or([eb('id', '=', a.taskId), eb('title', 'like', 'secret-task-A')]))
          .executeTakeFirst(),
      );
      expect(result.numUpdatedRows).toBe(0n);
    });

    it('cannot delete another tenant\'s rows', async () => {
      const result = await asB(db, (tx) => tx.deleteFrom('project_members').where('user_id', '=', a.userId).executeTakeFirst());
      expect(result.numDeletedRows).toBe(0n);
    });

    it('cannot insert a row carrying another tenant\'s id', async () => {
      await expect(
        asB(db, (tx) => tx.insertInto('projects').values({ tenant_id: a.tenantId, id: newId(), name: 'planted' }).execute()),
      ).rejects.toThrow();
      const { rowCount } = await database.admin.query(`SELECT 1 FROM projects WHERE name = 'planted'`);
      expect(rowCount).toBe(0);
    });

    // Rows name their own tenant explicitly here, so the composite foreign keys are what refuse.
    it('cannot point a task at another tenant\'s project or user', async () => {
      await expect(
        asB(db, (tx) => tx.insertInto('tasks').values({ tenant_id: b.tenantId, id: newId(), project_id: a.projectId, title: 'x' }).execute()),
      ).rejects.toThrow(/foreign key/);
      await expect(
        asB(db, (tx) =>
          tx
            .insertInto('tasks')
            .values({ tenant_id: b.tenantId, id: newId(), project_id: b.projectId, title: 'x', assignee_id: a.userId })
            .execute(),
        ),
      ).rejects.toThrow(/foreign key/);
      await expect(
        asB(db, (tx) => tx.insertInto('project_members').values({ tenant_id: b.tenantId, project_id: b.projectId, user_id: a.userId }).execute()),
      ).rejects.toThrow(/foreign key/);
    });

    it('cannot reach another tenant\'s rows through joins on project_members', async () => {
      const rows = await asB(db, (tx) =>
        tx
          .selectFrom('project_members as pm')
          .innerJoin('tasks as t', 't.project_id', 'pm.project_id')
          .leftJoin('projects as p', 'p.id', 'pm.project_id')
          .select(['t.title', 'p.name'])
          .execute(),
      );
      expect(rows).toEqual([{ title: 'secret-task-B', name: 'secret-project-B' }]);
    });

    it('cannot collide with, or learn about, another tenant\'s rows through constraints', async () => {
      // Same primary key value and same unique name as A's project: no conflict across tenants.
      const id = a.projectId;
      await asB(db, (tx) =>
        tx
          .insertInto('projects')
          .values({ tenant_id: b.tenantId, id, name: 'secret-project-A' })
          .onConflict((oc) => oc.columns(['tenant_id', 'id']).doUpdateSet({ name: 'pwned' }))
          .execute(),
      );
      const { rows } = await database.admin.query(`SELECT tenant_id FROM projects WHERE id = $1 ORDER BY tenant_id`, [id]);
      expect(rows.map((r) => r.tenant_id).sort()).toEqual([a.tenantId, b.tenantId].sort());
      await database.admin.query(`DELETE FROM projects WHERE id = $1 AND tenant_id = $2`, [id, b.tenantId]);
    });

    it('gets nothing of another tenant through raw SQL in the helper', async () => {
      const outcome = await asB(db, (tx) =>
        sql<{ title: string }>`select title from tasks`.execute(tx).then(
          (result) => result.rows.map((r) => r.title),
          (error: Error) => error.name,
        ),
      ).catch((error: Error) => error.name);
      // Either layer suffices: the filter refuses raw SQL on tenant tables; RLS returns only B.
      expect(['TenantScopeViolation', JSON.stringify(['secret-task-B'])]).toContain(
        Array.isArray(outcome) ? JSON.stringify(outcome) : outcome,
      );
    });
  });
}

describe('a pooled connection reused after an error mid-transaction', () => {
  /** A one-connection pool, so the next unit of work is certain to get the same connection. */
  async function withOneConnection(check: (db: Database<TestTables>, single: pg.Pool) => Promise<void>): Promise<void> {
    const single = createPool(database.url, 1, silent);
    try {
      await check(new Database<TestTables>({ modules: TEST_REGISTRY, pool: single, roles: TEST_ROLES, logger: silent }), single);
    } finally {
      await single.end();
    }
  }

  async function expectCleanConnection(single: pg.Pool): Promise<void> {
    const { rows } = await single.query(`SELECT coalesce(current_setting('app.tenant_id', true), '') AS tenant, current_user AS role`);
    expect(rows[0]).toMatchObject({ tenant: '', role: expect.not.stringMatching(new RegExp(TEST_ROLES.app)) });
  }

  async function tasksSeenByB(db: Database<TestTables>): Promise<string[]> {
    const seen = await runWithContext({ requestId: 'r2', tenantId: b.tenantId }, () =>
      db.tenant((tx) => tx.selectFrom('tasks').select('title').execute()),
    );
    return seen.map((t) => t.title);
  }

  it('carries neither tenant nor role into the next unit of work', () =>
    withOneConnection(async (db, single) => {
      await expect(
        runWithContext({ requestId: 'r1', tenantId: a.tenantId }, () =>
          db.tenant(async (tx) => {
            await tx.selectFrom('tasks').select('id').execute();
            await sql`select 1/0`.execute(tx);
          }),
        ),
      ).rejects.toThrow(/division by zero/);
      await expectCleanConnection(single);
      expect(await tasksSeenByB(db)).toEqual(['secret-task-B']);
    }));

  it('rolls back a failed single statement and leaves the connection clean', () =>
    withOneConnection(async (db, single) => {
      await expect(
        runWithContext({ requestId: 'r1', tenantId: a.tenantId }, () =>
          db.tenantStatement((tx) => tx.insertInto('projects').values({ id: 'not-a-uuid', name: 'x' }).returning('id')),
        ),
      ).rejects.toThrow(/uuid/);
      await expectCleanConnection(single);
      const { rowCount } = await database.admin.query(`SELECT 1 FROM projects WHERE name = 'x'`);
      expect(rowCount).toBe(0);
    }));

  it('destroys a client whose connection died instead of returning it to the pool', () =>
    withOneConnection(async (db) => {
      await expect(
        runWithContext({ requestId: 'r1', tenantId: a.tenantId }, () =>
          db.tenant(async (tx) => {
            const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx);
            await database.admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
            await tx.selectFrom('tasks').select('id').execute();
          }),
        ),
      ).rejects.toThrow();
      expect(await tasksSeenByB(db)).toEqual(['secret-task-B']);
    }));
});
