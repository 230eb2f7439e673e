// One unit of work, one connection: work inside db.tenant/identity/service that reaches for a
// second pooled connection fails at once, instead of waiting for a connection that only
// finished units could free. Once a unit has ended, what it started may use the pool again.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../src/db/database.js';
import { TenantScopeViolation } from '../../src/db/tenant-scope-plugin.js';
import { runWithContext } from '../../src/tenancy/context.js';
import { startIsolationHarness, silent, type IsolationHarness } from '../support/isolation-harness.js';
import { TEST_ROLES } from '../support/roles.js';
import { TEST_REGISTRY, type TestTables } from '../support/modules.js';

let harness: IsolationHarness;
let db: Database<TestTables>;

beforeAll(async () => {
  // A pool of one: a second checkout could only ever wait.
  harness = await startIsolationHarness(1);
  db = new Database<TestTables>({ modules: TEST_REGISTRY, pool: harness.pool, roles: TEST_ROLES, logger: silent });
});

afterAll(async () => {
  await harness.close();
});

function asTenantA<T>(work: () => Promise<T>): Promise<T> {
  return runWithContext({ requestId: 'one-connection', tenantId: harness.a.tenantId }, work);
}

const SECOND_CONNECTION = /a unit of work may not open a second connection/;

describe('a unit of work', () => {
  it('may not open another unit of any kind inside it', async () => {
    const nested: Record<string, () => Promise<unknown>> = {
      tenant: () => db.tenant((tx) => tx.selectFrom('tasks').select('id').execute()),
      tenantStatement: () => db.tenantStatement((tx) => tx.selectFrom('tasks').select('id')),
      identity: () => db.identity({}, (tx) => tx.selectFrom('plans').select('key').execute()),
      service: () => db.service('test: nested service unit', (tx) => tx.selectFrom('tenants').select('id').execute()),
    };
    for (const [kind, open] of Object.entries(nested)) {
      const attempt = asTenantA(() => db.tenant(() => open()));
      await expect(attempt, kind).rejects.toThrow(TenantScopeViolation);
      await expect(attempt, kind).rejects.toThrow(SECOND_CONNECTION);
    }
    for (const [kind, open] of Object.entries(nested)) {
      await expect(db.identity({}, () => asTenantA(open)), `${kind} inside identity`).rejects.toThrow(SECOND_CONNECTION);
      await expect(db.service('test: outer service unit', () => asTenantA(open)), `${kind} inside service`).rejects.toThrow(
        SECOND_CONNECTION,
      );
    }
  });

  it('is refused even when the second connection is opened by something it awaits indirectly', async () => {
    const cacheLoader = async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return db.identity({}, (tx) => tx.selectFrom('plans').select('key').execute());
    };
    await expect(asTenantA(() => db.tenant(async () => cacheLoader()))).rejects.toThrow(SECOND_CONNECTION);
  });

  it('leaves the pool usable, and lets work it started run after it ended', async () => {
    let unitEnded!: () => void;
    const ended = new Promise<void>((resolve) => (unitEnded = resolve));
    let later: Promise<unknown> | undefined;
    await asTenantA(() =>
      db.tenant(async (tx) => {
        // Started inside the unit (it inherits the unit's marker), run once the unit is over.
        later = ended.then(() => asTenantA(() => db.tenant((t) => t.selectFrom('tasks').select('id').execute())));
        return tx.selectFrom('tasks').select('id').execute();
      }),
    );
    unitEnded();
    expect(await later).toHaveLength(1);
    // Sequential units, each on the one connection in turn.
    for (let i = 0; i < 3; i++) expect(await asTenantA(() => db.tenant((tx) => tx.selectFrom('tasks').select('id').execute()))).toHaveLength(1);
  });
});
