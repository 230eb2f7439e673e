// Layer 1 on its own: the SQL the tenant filter produces, without a database.
// Every read, write and join of a tenant table gains the tenant predicate.

import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Tables } from '../../src/db/tables.js';
import { TenantScopePlugin, TenantScopeViolation } from '../../src/db/tenant-scope-plugin.js';
import { TEST_REGISTRY, type TestTables } from '../support/modules.js';

const TENANT = '01a20817-8109-7101-a7b5-65e99a9897c4';
const OTHER = '01a20817-0000-7000-8000-000000000000';

function db(
  tenantId: string | undefined,
  identityReads?: ReadonlyMap<string, { column: string; value: string }>,
): Kysely<TestTables> {
  return new Kysely<TestTables>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (k) => new PostgresIntrospector(k),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
    plugins: [new TenantScopePlugin({ tenantTables: TEST_REGISTRY.tenantTables, tenantId, ...(identityReads ? { identityReads } : {}) })],
  });
}

const scoped = db(TENANT);

describe('tenant scope plugin', () => {
  it('adds the tenant predicate to a select', () => {
    const query = scoped.selectFrom('tasks').selectAll().where('status', '=', 'todo').compile();
    expect(query.sql).toBe('select * from "tasks" where ("status" = $1) and "tasks"."tenant_id" = $2');
    expect(query.parameters).toEqual(['todo', TENANT]);
  });

  it('keeps an OR in the existing condition from escaping the tenant predicate', () => {
    const query = scoped
      .selectFrom('tasks')
      .selectAll()
      .where((eb) => eb.or([eb('status', '=', 'todo'), eb('status', '=', 'done')]))
      .compile();
    expect(query.sql).toBe('select * from "tasks" where ("status" = $1 or "status" = $2) and "tasks"."tenant_id" = $3');
    const raw = scoped.selectFrom('tasks').selectAll().where(sql<boolean>`status = 'todo' or true`).compile();
    expect(raw.sql).toBe('select * from "tasks" where (status = \'todo\' or true) and "tasks"."tenant_id" = $1');
  });

  it('uses the alias of an aliased table', () => {
    const query = scoped.selectFrom('tasks as t').select('t.id').compile();
    expect(query.sql).toBe('select "t"."id" from "tasks" as "t" where "t"."tenant_id" = $1');
  });

  it('puts the predicate of a joined table into its ON clause, keeping LEFT JOIN semantics', () => {
    const query = scoped
      .selectFrom('projects as p')
      .leftJoin('tasks as t', 't.project_id', 'p.id')
      .select(['p.id', 't.id as task'])
      .compile();
    expect(query.sql).toBe(
      'select "p"."id", "t"."id" as "task" from "projects" as "p" left join "tasks" as "t" on ("t"."project_id" = "p"."id") and "t"."tenant_id" = $1 where "p"."tenant_id" = $2',
    );
  });

  it('scopes subqueries', () => {
    const query = scoped
      .selectFrom('projects')
      .select('id')
      .where('id', 'in', (eb) => eb.selectFrom('tasks').select('project_id'))
      .compile();
    expect(query.sql).toBe(
      'select "id" from "projects" where ("id" in (select "project_id" from "tasks" where "tasks"."tenant_id" = $1)) and "projects"."tenant_id" = $2',
    );
  });

  it('scopes updates and deletes', () => {
    const update = scoped.updateTable('tasks').set({ title: 'x' }).where('id', '=', OTHER).compile();
    expect(update.sql).toBe('update "tasks" set "title" = $1 where ("id" = $2) and "tasks"."tenant_id" = $3');
    const del = scoped.deleteFrom('tasks').where('id', '=', OTHER).compile();
    expect(del.sql).toBe('delete from "tasks" where ("id" = $1) and "tasks"."tenant_id" = $2');
  });

  it('fills tenant_id on insert', () => {
    const query = scoped.insertInto('projects').values({ id: OTHER, name: 'p' }).compile();
    expect(query.sql).toBe('insert into "projects" ("id", "name", "tenant_id") values ($1, $2, $3)');
    expect(query.parameters).toEqual([OTHER, 'p', TENANT]);
  });

  it('accepts an insert naming the current tenant and rejects one naming another', () => {
    expect(() => scoped.insertInto('projects').values({ tenant_id: TENANT, id: OTHER, name: 'p' }).compile()).not.toThrow();
    expect(() => scoped.insertInto('projects').values({ tenant_id: OTHER, id: OTHER, name: 'p' }).compile()).toThrow(
      TenantScopeViolation,
    );
  });

  it('adds the tenant to an INSERT ... SELECT, and scopes what the SELECT reads', () => {
    const fromArrays = scoped
      .insertInto('projects')
      .columns(['id', 'name'])
      .expression(scoped.selectNoFrom([sql`unnest(${[OTHER]}::uuid[])`.as('id'), sql`unnest(${['p']}::text[])`.as('name')]))
      .compile();
    expect(fromArrays.sql).toBe(
      'insert into "projects" ("id", "name", "tenant_id") select unnest($1::uuid[]) as "id", unnest($2::text[]) as "name", cast($3 as uuid) as "tenant_id"',
    );
    expect(fromArrays.parameters).toEqual([[OTHER], ['p'], TENANT]);
    const copied = scoped
      .insertInto('projects')
      .columns(['id', 'name'])
      .expression(scoped.selectFrom('projects').select([sql`gen_random_uuid()`.as('id'), 'name']))
      .compile();
    expect(copied.sql).toMatch(/ from "projects" where .*"projects"\."tenant_id" = \$\d+$/);
    expect(copied.parameters.filter((parameter) => parameter === TENANT).length).toBeGreaterThanOrEqual(2);
  });

  it('refuses an INSERT ... SELECT that names the tenant, selects *, or unions', () => {
    const attempts = [
      () =>
        scoped
          .insertInto('projects')
          .columns(['tenant_id', 'id', 'name'])
          .expression(scoped.selectNoFrom([sql`${OTHER}::uuid`.as('tenant_id'), sql`${OTHER}::uuid`.as('id'), sql`'p'`.as('name')]))
          .compile(),
      () => scoped.insertInto('projects').columns(['id', 'name']).expression(scoped.selectFrom('projects').selectAll()).compile(),
      () =>
        scoped
          .insertInto('projects')
          .columns(['id', 'name'])
          .expression(
            scoped
              .selectNoFrom([sql`${OTHER}::uuid`.as('id'), sql`'p'`.as('name')])
              .union(scoped.selectNoFrom([sql`${OTHER}::uuid`.as('id'), sql`'q'`.as('name')])),
          )
          .compile(),
    ];
    for (const [index, attempt] of attempts.entries()) expect(attempt, `attempt ${index}`).toThrow(TenantScopeViolation);
  });

  it('refuses to move a row to another tenant', () => {
    expect(() => scoped.updateTable('tasks').set({ tenant_id: OTHER } as never).compile()).toThrow(TenantScopeViolation);
  });

  it('leaves non-tenant tables alone', () => {
    expect(scoped.selectFrom('users').selectAll().compile().sql).toBe('select * from "users"');
  });

  it('refuses raw SQL that names a tenant table', () => {
    expect(() => sql`select * from tasks`.compile(scoped)).toThrow(TenantScopeViolation);
    expect(() => sql`select 1`.compile(scoped)).not.toThrow();
  });

  it('throws on a tenant table when no tenant is in scope', () => {
    const unscoped = db(undefined);
    expect(() => unscoped.selectFrom('tasks').selectAll().compile()).toThrow(TenantScopeViolation);
    expect(() => unscoped.insertInto('projects').values({ id: OTHER, name: 'p' }).compile()).toThrow(TenantScopeViolation);
  });

  it('lets identity-narrowed tables be read, by that identity only, and never written without a tenant', () => {
    const identity = db(undefined, new Map([['memberships', { column: 'user_id', value: OTHER }]]));
    const query = identity.selectFrom('memberships').selectAll().compile();
    expect(query.sql).toBe('select * from "memberships" where "memberships"."user_id" = $1');
    expect(query.parameters).toEqual([OTHER]);
    expect(() => identity.selectFrom('api_keys').selectAll().compile()).toThrow(TenantScopeViolation);
    expect(() => identity.updateTable('memberships').set({ role: 'owner' }).compile()).toThrow(TenantScopeViolation);
  });

  it('refuses MERGE on tenant tables', () => {
    expect(() =>
      scoped
        .mergeInto('tasks')
        .using('projects', 'projects.id', 'tasks.project_id')
        .whenMatched()
        .thenUpdateSet({ title: 'x' })
        .compile(),
    ).toThrow(TenantScopeViolation);
  });

  it('refuses an upsert that would move a row to another tenant', () => {
    expect(() =>
      scoped
        .insertInto('projects')
        .values({ id: OTHER, name: 'p' })
        .onConflict((oc) => oc.columns(['tenant_id', 'id']).doUpdateSet({ tenant_id: OTHER } as never))
        .compile(),
    ).toThrow(TenantScopeViolation);
  });

  it('refuses update keys that are not plain columns', () => {
    expect(() => scoped.updateTable('tasks').set(sql`tenant_id` as never, OTHER as never).compile()).toThrow(TenantScopeViolation);
  });

  it('refuses raw SQL that names a tenant table by identifier, or could leave the scope', () => {
    for (const [index, query] of [
      sql`select * from ${sql.table('tasks')}`,
      sql`select * from ${sql.id('public', 'memberships')}`,
      sql`select * from U&"t\\0061sks"`,
      sql`select query_to_xml('select 1', true, true, '')`,
      sql`reset role`,
      sql`set role postgres`,
      sql`commit`,
      sql`select set_config('app.tenant_id', '', false)`,
    ].entries()) {
      expect(() => query.compile(scoped), `raw query #${index}`).toThrow(TenantScopeViolation);
    }
    expect(() => sql`select lower(${'X'})`.compile(scoped)).not.toThrow();
  });
});
