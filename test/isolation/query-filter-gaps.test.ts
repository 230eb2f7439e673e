// Layer 1 (TenantScopePlugin) on its own, RLS bypassed by running as the table owner with
// FORCE lifted (the harness of cross-tenant-attacks.test.ts). Tenant B attacks tenant A with
// query shapes beyond the common ones; each is scoped to B or refused.

import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database, type Tx } from '../../src/db/database.js';
import { newId } from '../../src/db/ids.js';
import { asTenant, startIsolationHarness, type IsolationHarness } from '../support/isolation-harness.js';
import type { SeededTenant } from '../support/seed.js';
import type { TestDatabase } from '../support/test-database.js';
import type { TestTables } from '../support/modules.js';

let harness: IsolationHarness;
let database: TestDatabase;
let a: SeededTenant;
let b: SeededTenant;
let filterOnly: Database<TestTables>;

beforeAll(async () => {
  harness = await startIsolationHarness(2);
  ({ database, a, b } = harness);
  filterOnly = harness.filterOnly();
});

afterAll(() => harness.close());

function asB<T>(work: (tx: Tx<TestTables>) => Promise<T>): Promise<T> {
  return asTenant(b, filterOnly, work);
}

/** The outcome of an attack: rows/effect, or the name of the error that refused it. */
function outcome<T>(attempt: Promise<T>): Promise<T | string> {
  return attempt.catch((error: Error) => error.name);
}

async function titleOfA(): Promise<string> {
  const { rows } = await database.admin.query(`SELECT title FROM tasks WHERE tenant_id = $1 AND id = $2`, [a.tenantId, a.taskId]);
  return rows[0].title;
}

describe('query shapes the tenant filter does not rewrite (RLS bypassed)', () => {
  it('MERGE INTO a tenant table is scoped to the current tenant', async () => {
    await outcome(
      asB((tx) =>
        tx
          .mergeInto('tasks as t')
          .using('projects as p', 'p.id', 't.project_id')
          .whenMatched()
          .thenUpdateSet({ title: 'pwned-by-merge' })
          .execute(),
      ),
    );
    const title = await titleOfA();
    // Both tenants' tasks were rewritten; put them back for the tests below.
    await database.admin.query(`UPDATE tasks SET title = 'secret-task-A' WHERE tenant_id = $1`, [a.tenantId]);
    await database.admin.query(`UPDATE tasks SET title = 'secret-task-B' WHERE tenant_id = $1`, [b.tenantId]);
    expect(title).toBe('secret-task-A');
  });

  it('INSERT ... ON CONFLICT DO UPDATE cannot set tenant_id (rows never move between tenants)', async () => {
    const id = newId();
    await asB((tx) => tx.insertInto('projects').values({ id, name: `movable-${id}` }).execute());
    // The table types refuse a literal tenant_id here; a patch object built from input is not typed so.
    const patchFromRequest: Record<string, unknown> = { tenant_id: a.tenantId };
    const result = await outcome(
      asB((tx) =>
        tx
          .insertInto('projects')
          .values({ id, name: 'again' })
          .onConflict((oc) => oc.columns(['tenant_id', 'id']).doUpdateSet(patchFromRequest as never))
          .execute(),
      ),
    );
    const { rows } = await database.admin.query(`SELECT tenant_id FROM projects WHERE id = $1`, [id]);
    expect({ result, owner: rows[0].tenant_id }).toEqual({ result: 'TenantScopeViolation', owner: b.tenantId });
  });

  it('UPDATE ... SET with an expression key cannot set tenant_id', async () => {
    const id = newId();
    await asB((tx) => tx.insertInto('projects').values({ id, name: `movable-${id}` }).execute());
    const result = await outcome(
      asB((tx) =>
        tx
          .updateTable('projects')
          .set(sql<string>`tenant_id`, a.tenantId)
          .where('id', '=', id)
          .execute(),
      ),
    );
    const { rows } = await database.admin.query(`SELECT tenant_id FROM projects WHERE id = $1`, [id]);
    expect({ result, owner: rows[0].tenant_id }).toEqual({ result: 'TenantScopeViolation', owner: b.tenantId });
  });

  it('raw SQL naming a tenant table through sql.table() is refused', async () => {
    const result = await outcome(
      asB(async (tx) => (await sql<{ t: string }>`select distinct tenant_id as t from ${sql.table('tasks')}`.execute(tx)).rows.map((r) => r.t)),
    );
    expect(result).toBe('TenantScopeViolation');
  });

  it('raw SQL naming a tenant table through sql.id() is refused', async () => {
    const result = await outcome(
      asB(async (tx) => (await sql<{ t: string }>`select distinct tenant_id as t from ${sql.id('public', 'memberships')}`.execute(tx)).rows.map((r) => r.t)),
    );
    expect(result).toBe('TenantScopeViolation');
  });

  it('raw SQL naming a tenant table with a Unicode-escaped identifier is refused', async () => {
    const result = await outcome(
      asB(async (tx) => (await sql<{ t: string }>`select distinct tenant_id as t from U&"t\\0061sks"`.execute(tx)).rows.map((r) => r.t)),
    );
    expect(result).toBe('TenantScopeViolation');
  });

  it('raw SQL that builds the table name at run time (query_to_xml) is refused', async () => {
    const result = await outcome(
      asB(async (tx) => {
        const { rows } = await sql<{ x: string }>`select query_to_xml('select tenant_id from ' || 'ta' || 'sks', true, false, '')::text as x`.execute(tx);
        return rows[0]!.x.includes(a.tenantId) ? 'read tenant A' : 'scoped';
      }),
    );
    expect(['TenantScopeViolation', 'scoped']).toContain(result);
  });

  it('a precompiled query (tx.executeQuery(CompiledQuery.raw(...))) does not skip the filter', async () => {
    const result = await outcome(
      asB(async (tx) => (await tx.executeQuery<{ t: string }>(CompiledQuery.raw('select distinct tenant_id as t from tasks'))).rows.map((r) => r.t)),
    );
    expect(['TenantScopeViolation', JSON.stringify([b.tenantId])]).toContain(
      typeof result === 'string' ? result : JSON.stringify(result),
    );
  });
});

describe('identity scope (before a tenant is chosen) with RLS bypassed', () => {
  it('the filter narrows identity reads of memberships to the identity, not just RLS', async () => {
    const rows = await filterOnly.identity({ userId: b.userId }, (tx) => tx.selectFrom('memberships').select('tenant_id').execute());
    expect(rows.map((r) => r.tenant_id)).toEqual([b.tenantId]);
  });
});
