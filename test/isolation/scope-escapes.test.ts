// Layer 2 (RLS) depends on every statement of a unit of work running inside the one
// transaction that set the role and tenant. These are the ordinary ways out of it: a nested
// transaction, a handle used after its unit ended, RESET ROLE. Each is refused.

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database, type Tx } from '../../src/db/database.js';
import { TEST_ROLES } from '../support/roles.js';
import { asTenant, startIsolationHarness, type IsolationHarness } from '../support/isolation-harness.js';
import type { SeededTenant } from '../support/seed.js';
import type { TestTables } from '../support/modules.js';

let harness: IsolationHarness;
let b: SeededTenant;

beforeAll(async () => {
  harness = await startIsolationHarness(2);
  ({ b } = harness);
});

afterAll(() => harness.close());

const rlsOnly = () => harness.rlsOnly();
const bothLayers = () => harness.bothLayers();

function asB<T>(db: Database<TestTables>, work: (tx: Tx<TestTables>) => Promise<T>): Promise<T> {
  return asTenant(b, db, work);
}

describe('a nested Kysely transaction inside db.tenant()', () => {
  // Its COMMIT would end the scoped transaction and leave the rest of the work unscoped.
  it('is refused, in both modes, and the work rolls back', async () => {
    for (const db of [bothLayers(), rlsOnly()]) {
      await expect(
        asB(db, async (tx) => {
          await tx.transaction().execute(async (inner) => {
            await inner.selectFrom('projects').select('id').execute();
          });
        }),
      ).rejects.toThrow(/transaction\(\) is not available/);
    }
  });

  it('leaves a Tx that stays in its scope: app role, tenant set', async () => {
    const seen = await asB(rlsOnly(), async (tx) => {
      const { rows } = await sql<{ who: string; tenant: string | null }>`
        select current_user as who, nullif(current_setting('app.tenant_id', true), '') as tenant`.execute(tx);
      return rows[0];
    });
    expect(seen).toEqual({ who: TEST_ROLES.app, tenant: b.tenantId });
  });
});

describe('a Tx that outlives its unit of work', () => {
  it('cannot be used after db.tenant() has committed', async () => {
    let leaked: Tx<TestTables> | undefined;
    await asB(rlsOnly(), async (tx) => {
      leaked = tx;
      await tx.selectFrom('tasks').select('id').execute();
    });
    // e.g. a fire-and-forget write scheduled from inside the handler, running a moment later.
    const outcome = await leaked!
      .selectFrom('tasks')
      .select('title')
      .execute()
      .then(
        (rows) => rows.map((r) => r.title).sort(),
        (error: Error) => `refused: ${error.message}`,
      );
    expect(outcome).not.toEqual(['secret-task-A', 'secret-task-B']);
    expect(String(outcome)).toMatch(/^refused/);
  });
});

describe('raw SQL that changes the session state', () => {
  it('cannot drop the app role with RESET ROLE (the plugin lets it through; the login user is a superuser)', async () => {
    const outcome = await asB(bothLayers(), async (tx) => {
      await sql`reset role`.execute(tx);
      const { rows } = await sql<{ who: string; su: string }>`select current_user as who, current_setting('is_superuser') as su`.execute(tx);
      return rows[0];
    }).catch((error: Error) => ({ refused: error.name }));
    expect(outcome).not.toMatchObject({ su: 'on' });
  });
});
