// Every migration's down section is real: after reverting any number of a module's newest
// migrations (dependent modules first), migrating up must rebuild exactly the catalog before;
// at the end nothing of Tenantry's schema is left, and migrating up rebuilds the template's catalog: tables, columns, constraints, indexes, policies, functions,
// triggers and grants. A revert is refused while a dependent module is still applied.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, revertMigrations } from '../../src/db/migrate.js';
import { ModuleRegistry } from '../../src/modules/registry.js';
import { TEST_MODULES } from '../support/modules.js';
import { TEST_LOGIN_PASSWORD, TEST_ROLES, TEST_SERVICE_LOGIN_PASSWORD } from '../support/roles.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database.drop();
});

/** Schemas the extensions and PostgreSQL own: not ours to compare. */
const FOREIGN_SCHEMAS = `('pg_catalog', 'information_schema', 'pg_toast', 'graphile_worker')`;

/** Our schema objects, one line each, sorted: what a migration can create, alter or grant. */
async function catalog(): Promise<string[]> {
  const queries = [
    `SELECT 'column ' || table_schema || '.' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS line
       FROM information_schema.columns
      WHERE table_schema NOT IN ${FOREIGN_SCHEMAS} AND table_name NOT LIKE 'tenantry_migrations%'`,
    `SELECT 'constraint ' || n.nspname || '.' || c.relname || ' ' || pg_get_constraintdef(k.oid) AS line
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ${FOREIGN_SCHEMAS} AND c.relname NOT LIKE 'tenantry_migrations%'`,
    `SELECT 'index ' || indexdef AS line FROM pg_indexes WHERE schemaname NOT IN ${FOREIGN_SCHEMAS} AND tablename NOT LIKE 'tenantry_migrations%'`,
    `SELECT 'policy ' || schemaname || '.' || tablename || '.' || policyname || ' ' || cmd || ' ' || array_to_string(roles, ',') || ' ' || coalesce(qual, '') || ' ' || coalesce(with_check, '') AS line
       FROM pg_policies`,
    `SELECT 'rls ' || n.nspname || '.' || c.relname || ' ' || c.relrowsecurity || ' ' || c.relforcerowsecurity AS line
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ${FOREIGN_SCHEMAS} AND c.relname NOT LIKE 'tenantry_migrations%'`,
    `SELECT 'function ' || pg_get_functiondef(p.oid) || ' acl ' || coalesce(p.proacl::text, '') AS line
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname NOT IN ${FOREIGN_SCHEMAS} AND p.prokind IN ('f', 'p')
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')`,
    `SELECT 'trigger ' || pg_get_triggerdef(t.oid) AS line FROM pg_trigger t WHERE NOT t.tgisinternal`,
    `SELECT 'grant ' || table_schema || '.' || table_name || ' ' || grantee || ' ' || privilege_type AS line
       FROM information_schema.role_table_grants
      WHERE table_schema NOT IN ${FOREIGN_SCHEMAS} AND table_name NOT LIKE 'tenantry_migrations%'`,
    `SELECT 'column grant ' || table_schema || '.' || table_name || '.' || column_name || ' ' || grantee || ' ' || privilege_type AS line
       FROM information_schema.column_privileges
      WHERE table_schema NOT IN ${FOREIGN_SCHEMAS} AND table_name NOT LIKE 'tenantry_migrations%'`,
    `SELECT 'schema ' || nspname AS line FROM pg_namespace WHERE nspname NOT IN ${FOREIGN_SCHEMAS} AND nspname NOT LIKE 'pg_%'`,
    `SELECT 'type ' || n.nspname || '.' || t.typname AS line FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE t.typtype IN ('e', 'd', 'c') AND n.nspname NOT IN ${FOREIGN_SCHEMAS}
        AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')`,
  ];
  const lines: string[] = [];
  for (const query of queries) {
    const { rows } = await database.admin.query<{ line: string }>(query);
    lines.push(...rows.map((row) => row.line));
  }
  return lines.sort();
}

function revert(module: string, count: number): Promise<string[]> {
  return revertMigrations({ databaseUrl: database.url, roles: TEST_ROLES, modules: TEST_MODULES, module, count });
}

describe('migrations', () => {
  it('refuse to revert a module while a module that depends on it is applied', async () => {
    await expect(revertMigrations({ databaseUrl: database.url, roles: TEST_ROLES, modules: TEST_MODULES, module: 'platform' })).rejects.toThrow(
      /depends on "platform" and has migrations applied: revert it first/,
    );
    await expect(revertMigrations({ databaseUrl: database.url, roles: TEST_ROLES, modules: TEST_MODULES, module: 'nope' })).rejects.toThrow(/no module named "nope"/);
    await expect(revertMigrations({ databaseUrl: database.url, roles: TEST_ROLES, modules: TEST_MODULES, module: 'platform', count: 0 })).rejects.toThrow(/at least 1/);
  });

  it('revert any number of a module\'s newest migrations and migrate back to the same catalog, until nothing of ours is left', async () => {
    const template = await catalog();
    expect(template.some((line) => line.startsWith('policy public.tasks.'))).toBe(true);
    const ordered = new ModuleRegistry(TEST_MODULES).modules;
    const reverted: string[] = [];
    // Dependents come after their dependencies in the registry's order: revert from the end.
    for (let index = ordered.length - 1; index >= 0; index--) {
      const module = ordered[index]!;
      // The modules still applied: this one, what it depends on, and what came before it.
      const applied = ordered.slice(0, index + 1);
      const before = await catalog();
      // Its newest migration, then its two newest, …: each down must leave what its up can rebuild.
      for (let count = 1; ; count++) {
        const down = await revert(module.name, count);
        if (down.length < count) {
          reverted.push(...down);
          break;
        }
        expect(await migrate({ databaseUrl: database.url, roles: TEST_ROLES, modules: applied }), module.name).toEqual([...down].reverse());
        expect(await catalog(), `${down.join(', ')}: down, then up`).toEqual(before);
      }
    }
    expect(reverted).toContain('platform/0001_platform_core');
    // Nothing of ours is left but the (now empty) bookkeeping tables and the public schema.
    expect(await catalog()).toEqual(['schema public']);
    const { rows } = await database.admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relname NOT LIKE 'tenantry_migrations%' AND c.relkind IN ('r', 'v', 'm', 'S', 'p')`,
    );
    expect(rows[0]!.n).toBe(0);

    // And all the way up again: the template's catalog exactly.
    const applied = await migrate({
      databaseUrl: database.url,
      roles: TEST_ROLES,
      modules: TEST_MODULES,
      loginPassword: TEST_LOGIN_PASSWORD,
      serviceLoginPassword: TEST_SERVICE_LOGIN_PASSWORD,
    });
    expect([...applied].sort()).toEqual([...reverted].sort());
    expect(await catalog()).toEqual(template);
  }, 300_000);
});
