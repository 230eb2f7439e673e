// Layer 1 alone (RLS bypassed): the ways an independent attack run read around the raw-SQL
// guard when it matched patterns. Raw SQL is now held to what PostgreSQL's parser shows to be
// an expression over listed functions, and a unit runs only SQL its own executor compiled.

import { CompiledQuery, sql, type KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database, platformTx, type Tx } from '../../src/db/database.js';
import { runWithContext } from '../../src/tenancy/context.js';
import { asTenant, startIsolationHarness, type IsolationHarness } from '../support/isolation-harness.js';
import type { SeededTenant } from '../support/seed.js';
import type { TestTables } from '../support/modules.js';

let harness: IsolationHarness;
let a: SeededTenant;
let b: SeededTenant;
let filterOnly: Database<TestTables>;

beforeAll(async () => {
  harness = await startIsolationHarness(2);
  ({ a, b } = harness);
  filterOnly = harness.filterOnly();
});

afterAll(() => harness.close());

/** Tenant B's attempt: whatever it read, or the name of the error that refused it. */
function asB<T>(work: (tx: Tx<TestTables>) => Promise<T>): Promise<T | string> {
  return asTenant(b, filterOnly, work).catch((error: Error) => error.name);
}

/** Every tenant id a raw read returned; tenant A's id in it means the attack worked. */
async function tenantIds(tx: Tx, query: ReturnType<typeof sql<{ t: string }>>): Promise<string[]> {
  return (await query.execute(tx)).rows.map((row) => row.t);
}

describe('raw SQL inside a tenant unit, RLS bypassed', () => {
  it('cannot name a tenant table split across sql fragments', async () => {
    const result = await asB((tx) => tenantIds(platformTx(tx), sql<{ t: string }>`select tenant_id as t from ta${sql.raw('sks')}`));
    expect(result).toBe('TenantScopeViolation');
  });

  it('cannot read a table through ts_stat with a query as text', async () => {
    const result = await asB(async (tx) => {
      const { rows } = await sql<{ word: string }>`select word from ts_stat('select to_tsvector(title) from tasks')`.execute(tx);
      return rows.map((row) => row.word);
    });
    expect(result).toBe('TenantScopeViolation');
  });

  it('cannot read the schema through schema_to_xml', async () => {
    const result = await asB(async (tx) => {
      const { rows } = await sql<{ x: string }>`select schema_to_xml('public', true, false, '')::text as x`.execute(tx);
      return rows[0]!.x.includes(a.tenantId) ? 'read tenant A' : 'scoped';
    });
    expect(result).toBe('TenantScopeViolation');
  });

  it('cannot create or call a function in pg_temp', async () => {
    const created = await asB((tx) =>
      sql`create function pg_temp.peek() returns setof uuid language sql as 'select tenant_id from tasks'`.execute(tx),
    );
    const called = await asB((tx) => tenantIds(platformTx(tx), sql<{ t: string }>`select pg_temp.peek() as t`));
    expect({ created, called }).toEqual({ created: 'TenantScopeViolation', called: 'TenantScopeViolation' });
  });

  it('cannot change role through set_config or a commented SET LOCAL ROLE', async () => {
    const viaSetConfig = await asB((tx) => sql`select set_config('role', 'tenantry_service', true)`.execute(tx));
    const viaComment = await asB((tx) => sql`set local /* */ role tenantry_service`.execute(tx));
    expect({ viaSetConfig, viaComment }).toEqual({ viaSetConfig: 'TenantScopeViolation', viaComment: 'TenantScopeViolation' });
  });

  it('cannot be a table source, even as a bare table name', async () => {
    const result = await asB((tx) =>
      tx
        .selectFrom(sql<{ tenant_id: string }>`tasks`.as('t'))
        .select('t.tenant_id')
        .execute()
        .then((rows) => rows.map((row) => row.tenant_id)),
    );
    expect(result).toBe('TenantScopeViolation');
  });

  it('cannot hide a subquery in an expression', async () => {
    const result = await asB((tx) =>
      tx
        .selectFrom('projects')
        .select(sql<string>`(select max(title) from tasks where tenant_id <> projects.tenant_id)`.as('t'))
        .execute()
        .then((rows) => rows.map((row) => row.t)),
    );
    expect(result).toBe('TenantScopeViolation');
  });

  it('still runs the expressions the application uses', async () => {
    const result = await asB(async (tx) => {
      const { rows } = await sql<{ n: number; lowered: string }>`select count(*)::int as n, lower(${'ABC'}) as lowered`.execute(tx);
      return rows[0];
    });
    expect(result).toEqual({ n: 1, lowered: 'abc' });
  });
});

describe('the query builder inside a tenant unit, RLS bypassed', () => {
  it('cannot call an unlisted function by name (eb.fn)', async () => {
    const result = await asB((tx) =>
      tx
        .selectFrom('projects')
        .select((eb) => eb.fn<string>('query_to_xml', [eb.val('select tenant_id from tasks'), eb.lit(true), eb.lit(false), eb.val('')]).as('x'))
        .execute(),
    );
    expect(result).toBe('TenantScopeViolation');
  });

  it('cannot add a plugin after the tenant filter', async () => {
    const strip: KyselyPlugin = {
      transformQuery: ({ node }) => ({ ...node, where: undefined }) as typeof node,
      transformResult: async ({ result }) => result,
    };
    const result = await asB((tx) => tx.selectFrom('tasks').select('tenant_id').withPlugin(strip).execute());
    expect(result).toBe('TenantScopeViolation');
  });
});

describe("a unit's executor and connection, RLS bypassed", () => {
  it('refuse a precompiled query through getExecutor().executeQuery()', async () => {
    const result = await asB(async (tx) =>
      (await tx.getExecutor().executeQuery<{ t: string }>(CompiledQuery.raw('select distinct tenant_id as t from tasks'))).rows,
    );
    expect(result).toBe('TenantScopeViolation');
  });

  it('refuse SQL sent straight to the connection', async () => {
    const result = await asB((tx) =>
      tx.getExecutor().provideConnection((connection) => connection.executeQuery(CompiledQuery.raw('select tenant_id from tasks'))),
    );
    expect(result).toBe('TenantScopeViolation');
  });

  it('refuse a hand-built operation node that skipped the plugins', async () => {
    const result = await asB(async (tx) => {
      const executor = tx.getExecutor();
      const unscoped = tx.selectFrom('tasks').select('tenant_id').toOperationNode();
      const raw = { ...unscoped, where: undefined } as typeof unscoped;
      return (await executor.executeQuery(executor.compileQuery(raw, { queryId: 'attack' }))).rows;
    });
    expect(result).toBe('TenantScopeViolation');
  });

  it('refuse a plugin-free executor', async () => {
    const result = await asB(async (tx) => tx.getExecutor().withoutPlugins());
    expect(result).toBe('TenantScopeViolation');
  });

  it('refuse a hand-made statement handed to tenantStatement()', async () => {
    const result = await runWithContext({ requestId: 'attack', tenantId: b.tenantId }, () =>
      filterOnly
        .tenantStatement<{ t: string }>(() => ({ compile: () => CompiledQuery.raw('select tenant_id as t from tasks') }))
        .catch((error: Error) => error.name),
    );
    expect(result).toBe('TenantScopeViolation');
  });
});
