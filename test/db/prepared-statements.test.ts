// Hot statements run as named prepared statements (db/prepared-statements.ts). A generic plan
// PostgreSQL keeps for one tenant's statement must still answer only the next tenant's rows,
// with both isolation layers and with each alone; statements that did not ask are not
// prepared; a connection keeps a bounded number; and a schema change that outdates a prepared
// statement costs no request.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../src/db/database.js';
import { MAX_PREPARED_PER_CONNECTION } from '../../src/db/prepared-statements.js';
import { runWithContext } from '../../src/tenancy/context.js';
import { ISOLATION_LAYERS, startIsolationHarness, silent, type IsolationHarness } from '../support/isolation-harness.js';
import { TEST_REGISTRY, type TestTables } from '../support/modules.js';
import { TEST_ROLES } from '../support/roles.js';
import type { SeededTenant } from '../support/seed.js';

let harness: IsolationHarness;

beforeAll(async () => {
  // A pool of one connection: every statement below meets the plans the earlier ones left.
  harness = await startIsolationHarness(1);
  // More tasks for A than B, so a plan kept from A's runs would show in B's answer.
  await harness.database.admin.query(
    `INSERT INTO tasks (id, tenant_id, project_id, title, created_by)
       SELECT gen_random_uuid(), $1, $2, 'A task ' || g, $3 FROM generate_series(1, 30) g`,
    [harness.a.tenantId, harness.a.projectId, harness.a.userId],
  );
});

afterAll(async () => {
  await harness.close();
});

const tasksOf = (db: Database<TestTables>, tenant: SeededTenant, prepared = true) =>
  runWithContext({ requestId: 'prepared', tenantId: tenant.tenantId }, () =>
    db.tenantStatement((tx) => tx.selectFrom('tasks').select(['id', 'tenant_id']).where('deleted_at', 'is', null).orderBy('id').limit(100), {
      prepared,
    }),
  );

/** A unit's own statements (BEGIN, its scoping, its status hold, COMMIT), prepared whenever statements may be. */
const UNIT_STATEMENT = /^(BEGIN|COMMIT|SET LOCAL |SELECT concat\(set_config\('role'|SELECT tenantry_access\.hold_if_suspended\(\)$)/;

/**
 * The statements the pool's one connection has prepared, and how each was planned: the units'
 * own statements left out unless `all`.
 */
async function preparedOnConnection(all = false): Promise<Array<{ statement: string; generic_plans: number; custom_plans: number }>> {
  const { rows } = await harness.pool.query<{ statement: string; generic_plans: string; custom_plans: string }>(
    `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements WHERE name LIKE 'tenantry_%'`,
  );
  return rows
    .filter((row) => all || !UNIT_STATEMENT.test(row.statement))
    .map((row) => ({ statement: row.statement, generic_plans: Number(row.generic_plans), custom_plans: Number(row.custom_plans) }));
}

/** Each test starts on a new connection, with nothing prepared. */
async function freshConnection(): Promise<void> {
  const client = await harness.pool.connect();
  client.release(new Error('start the next test on a fresh connection'));
}

describe('a prepared statement', () => {
  for (const [layer, make] of Object.entries(ISOLATION_LAYERS)) {
    it(`answers each tenant with its own rows once PostgreSQL keeps a generic plan (${layer})`, async () => {
      await freshConnection();
      const db = make(harness);
      for (let run = 0; run < 8; run++) {
        const rowsA = await tasksOf(db, harness.a);
        expect(rowsA.length, layer).toBe(31);
        expect(new Set(rowsA.map((row) => row.tenant_id)), layer).toEqual(new Set([harness.a.tenantId]));
      }
      const [kept] = await preparedOnConnection();
      // The point of the test: the plan B's statement runs with was made for A's.
      expect(kept?.generic_plans, layer).toBeGreaterThan(0);
      for (let run = 0; run < 3; run++) {
        const rowsB = await tasksOf(db, harness.b);
        expect(rowsB.map((row) => row.tenant_id), layer).toEqual([harness.b.tenantId]);
      }
      const [after] = await preparedOnConnection();
      expect(after!.generic_plans + after!.custom_plans).toBe(11);
    });
  }

  it('is made only for statements that ask, and not when the database is told not to', async () => {
    await freshConnection();
    await tasksOf(harness.bothLayers(), harness.a, false);
    expect(await preparedOnConnection()).toEqual([]);
    expect((await preparedOnConnection(true)).map((row) => row.statement)).toContain('COMMIT');
    await freshConnection();
    const unprepared = new Database<TestTables>({ modules: TEST_REGISTRY, pool: harness.pool, roles: TEST_ROLES, logger: silent, preparedStatements: false });
    await tasksOf(unprepared, harness.a, true);
    expect(await preparedOnConnection(true)).toEqual([]);
    await tasksOf(harness.bothLayers(), harness.a, true);
    expect(await preparedOnConnection()).toHaveLength(1);
  });

  it('is kept at most MAX_PREPARED_PER_CONNECTION times a connection; later statements still run', async () => {
    await freshConnection();
    const db = harness.bothLayers();
    const shapes = MAX_PREPARED_PER_CONNECTION + 5;
    for (let size = 1; size <= shapes; size++) {
      const titles = Array.from({ length: size }, (_, index) => `A task ${index + 1}`);
      const rows = await runWithContext({ requestId: 'prepared', tenantId: harness.a.tenantId }, () =>
        db.tenantStatement((tx) => tx.selectFrom('tasks').select('id').where('title', 'in', titles), { prepared: true }),
      );
      expect(rows).toHaveLength(Math.min(size, 30));
    }
    expect(await preparedOnConnection(true)).toHaveLength(MAX_PREPARED_PER_CONNECTION);
  });

  it('outdated by a schema change is sent again unprepared: the request succeeds and the connection is replaced', async () => {
    await freshConnection();
    const db = harness.bothLayers();
    const everything = () =>
      runWithContext({ requestId: 'prepared', tenantId: harness.b.tenantId }, () =>
        db.tenantStatement((tx) => tx.selectFrom('projects').selectAll(), { prepared: true }),
      );
    const before = await everything();
    const backend = async () => (await harness.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const first = await backend();
    await harness.database.admin.query(`ALTER TABLE projects ADD COLUMN colour text NOT NULL DEFAULT 'blue'`);
    const after = await everything();
    expect(after).toHaveLength(before.length);
    expect(after[0]).toMatchObject({ colour: 'blue' });
    expect(await backend()).not.toBe(first);
    await harness.database.admin.query('ALTER TABLE projects DROP COLUMN colour');
  });
});
