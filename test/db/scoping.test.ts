// How a unit of work scopes its transaction: one prepared set_config() statement binding the
// role and every setting, or, on a distributed PostgreSQL (Citus), one SET LOCAL per setting,
// which Citus passes on to its workers. Either way the unit acts as the app role with exactly
// its own settings, row-level security alone confines it to its tenant, and nothing of it is
// left on the connection afterwards.

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../src/db/database.js';
import { runWithContext } from '../../src/tenancy/context.js';
import { silent, startIsolationHarness, type IsolationHarness } from '../support/isolation-harness.js';
import { TEST_REGISTRY, type TestTables } from '../support/modules.js';
import { TEST_ROLES } from '../support/roles.js';

let harness: IsolationHarness;

beforeAll(async () => {
  // One connection: every unit meets what the one before left on it.
  harness = await startIsolationHarness(1);
});

afterAll(async () => {
  await harness.close();
});

/** The statements the pool's one connection holds prepared. */
async function prepared(): Promise<string[]> {
  const { rows } = await harness.pool.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements');
  return rows.map((row) => row.statement);
}

for (const distributed of [false, true]) {
  describe(distributed ? 'on a distributed PostgreSQL (SET LOCAL)' : 'by set_config()', () => {
    // RLS alone: a unit sees one tenant's rows only if its settings took effect.
    const db = () => new Database<TestTables>({ modules: TEST_REGISTRY, pool: harness.pool, roles: TEST_ROLES, logger: silent, queryFilter: false, distributed });

    beforeAll(async () => {
      // Each mode on a connection of its own, with nothing prepared.
      const client = await harness.pool.connect();
      client.release(new Error('each mode starts on a fresh connection'));
    });

    it('acts as the app role with its own settings, and RLS alone keeps it to its tenant', async () => {
      const { a, b } = harness;
      const inside = await runWithContext({ requestId: 'scoping', tenantId: a.tenantId }, () =>
        db().tenant(async (tx) => {
          const { rows } = await sql<{ role: string; tenant: string; user: string; agent: string }>`
            SELECT current_user AS role, current_setting('app.tenant_id') AS tenant, current_setting('app.user_id') AS user,
                   current_setting('app.agent_id') AS agent`.execute(tx);
          const titles = await tx.selectFrom('tasks').select(['title', 'tenant_id']).execute();
          return { settings: rows[0], tenants: [...new Set(titles.map((row) => row.tenant_id))] };
        }, { userId: a.userId }),
      );
      expect(inside.settings).toEqual({ role: TEST_ROLES.app, tenant: a.tenantId, user: a.userId, agent: '' });
      expect(inside.tenants).toEqual([a.tenantId]);
      const single = await runWithContext({ requestId: 'scoping', tenantId: b.tenantId }, () =>
        db().tenantStatement((tx) => tx.selectFrom('tasks').select('tenant_id')),
      );
      expect([...new Set(single.map((row) => row.tenant_id))]).toEqual([b.tenantId]);
    });

    it('leaves no role and no setting on the connection', async () => {
      await runWithContext({ requestId: 'scoping', tenantId: harness.a.tenantId }, () => db().tenantStatement((tx) => tx.selectFrom('tasks').select('id')));
      const { rows } = await harness.pool.query(
        `SELECT current_user AS role, coalesce(current_setting('app.tenant_id', true), '') AS tenant, coalesce(current_setting('app.user_id', true), '') AS user`,
      );
      expect(rows[0]).toEqual({ role: expect.not.stringMatching(new RegExp(`^${TEST_ROLES.app}$`)), tenant: '', user: '' });
    });

    it(distributed ? 'sets each setting by a SET LOCAL of its own' : 'binds the role and settings in one prepared statement', async () => {
      const statements = await prepared();
      if (distributed) {
        expect(statements).toContain(`SET LOCAL ROLE "${TEST_ROLES.app}"`);
        expect(statements.some((text) => text.includes('set_config'))).toBe(false);
      } else {
        expect(statements.filter((text) => text.includes("set_config('role', $1, true)"))).toHaveLength(1);
        expect(statements.some((text) => text.startsWith('SET LOCAL'))).toBe(false);
      }
    });
  });
}
