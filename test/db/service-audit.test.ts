// db.service() records every use in service_role_audit before the work runs; recurring
// machinery (a flush every second) is recorded on its first use in each hour instead, and may
// never run inside a request's context.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../src/db/database.js';
import { runWithContext } from '../../src/tenancy/context.js';
import { startIsolationHarness, silent, type IsolationHarness } from '../support/isolation-harness.js';
import { TEST_ROLES } from '../support/roles.js';
import { TEST_REGISTRY, type TestTables } from '../support/modules.js';

let harness: IsolationHarness;
let db: Database<TestTables>;

beforeAll(async () => {
  harness = await startIsolationHarness(2);
  db = new Database<TestTables>({ modules: TEST_REGISTRY, pool: harness.pool, roles: TEST_ROLES, logger: silent });
});

afterAll(async () => {
  await harness.close();
});

async function recorded(reason: string): Promise<number> {
  const { rows } = await harness.database.admin.query('SELECT count(*)::int AS n FROM service_role_audit WHERE reason LIKE $1', [`${reason}%`]);
  return rows[0].n;
}

const countTenants = (tx: Parameters<Parameters<Database<TestTables>['service']>[1]>[0]) =>
  tx.selectFrom('tenants').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();

describe('db.service()', () => {
  it('records every use of ordinary work', async () => {
    for (let i = 0; i < 3; i++) await db.service('test: ordinary', countTenants);
    expect(await recorded('test: ordinary')).toBe(3);
  });

  it('records recurring work once an hour, and still runs it every time', async () => {
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await db.service('test: recurring', countTenants, { recurring: true }));
    expect(results.map((result) => Number(result.n))).toEqual([2, 2, 2]);
    expect(await recorded('test: recurring')).toBe(1);
    const { rows } = await harness.database.admin.query("SELECT reason, actor FROM service_role_audit WHERE reason LIKE 'test: recurring%'");
    expect(rows).toEqual([{ reason: 'test: recurring (recurring: recorded once an hour)', actor: 'system' }]);
  });

  it('refuses recurring work inside a request, and runs none of it', async () => {
    let ran = false;
    const attempt = runWithContext({ requestId: 'service-audit', tenantId: harness.a.tenantId, userId: harness.a.userId }, () =>
      db.service(
        'test: recurring in a request',
        async () => {
          ran = true;
        },
        { recurring: true },
      ),
    );
    await expect(attempt).rejects.toThrow(/must run outside any request/);
    expect(ran).toBe(false);
    expect(await recorded('test: recurring in a request')).toBe(0);
  });
});
