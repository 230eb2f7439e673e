// The database catalog itself proves the role model: the app role cannot read past RLS,
// owns nothing, and every tenant table has RLS enabled and forced. The tables with a
// tenant_id column must be exactly the tenant tables the registered modules declare, so no
// loop here can pass on an empty result; each declared column (secrets, personal data) exists.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ROLES } from '../support/roles.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { TEST_REGISTRY } from '../support/modules.js';

let database: TestDatabase;

const TENANT_TABLES_SORTED = [...TEST_REGISTRY.tenantTables].sort();

/** Tables (or partitioned tables) of the public schema with a live tenant_id column. */
const HAS_TENANT_ID = `n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)`;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database.drop();
});

describe('database roles', () => {
  it('gives the app role neither superuser nor BYPASSRLS', async () => {
    const { rows } = await database.admin.query('SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1', [TEST_ROLES.app]);
    expect(rows).toEqual([{ rolsuper: false, rolbypassrls: false }]);
  });

  it('lets the app role own no table, view, sequence or function', async () => {
    const owned = (role: string) =>
      database.admin.query(
        `SELECT c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1
         UNION ALL
         SELECT p.proname FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner WHERE r.rolname = $1`,
        [role],
      );
    expect((await owned(TEST_ROLES.app)).rows).toEqual([]);
    // The same question about the owner role finds its tables: the query can see ownership.
    expect((await owned(TEST_ROLES.owner)).rows.map((row) => row.relname)).toEqual(expect.arrayContaining(TENANT_TABLES_SORTED));
  });

  it('gives the service role BYPASSRLS and the owner role ownership of every table', async () => {
    const service = await database.admin.query('SELECT rolbypassrls FROM pg_roles WHERE rolname = $1', [TEST_ROLES.service]);
    expect(service.rows).toEqual([{ rolbypassrls: true }]);
    const owners = await database.admin.query(
      `SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'`,
    );
    expect(owners.rows).toEqual([{ tableowner: TEST_ROLES.owner }]);
  });
});

describe('row-level security', () => {
  it('finds a tenant_id column on exactly the registered tenant tables', async () => {
    const { rows } = await database.admin.query<{ table: string }>(
      `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${HAS_TENANT_ID} ORDER BY 1`,
    );
    expect(rows.map((row) => row.table)).toEqual(TENANT_TABLES_SORTED);
  });

  it('is enabled and forced on every tenant table', async () => {
    const { rows } = await database.admin.query<{ table: string; enabled: boolean; forced: boolean }>(
      `SELECT c.relname AS table, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${HAS_TENANT_ID} ORDER BY 1`,
    );
    expect(rows).toEqual(TENANT_TABLES_SORTED.map((table) => ({ table, enabled: true, forced: true })));
  });

  it('has a policy for each of SELECT, INSERT, UPDATE and DELETE on every tenant table', async () => {
    const { rows } = await database.admin.query<{ table: string; commands: string[] }>(
      `SELECT c.relname AS table, array_agg(DISTINCT p.cmd ORDER BY p.cmd) AS commands
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_policies p ON p.tablename = c.relname AND p.schemaname = n.nspname AND p.permissive = 'PERMISSIVE'
       WHERE ${HAS_TENANT_ID}
       GROUP BY 1 ORDER BY 1`,
    );
    // Restrictive policies narrow further (an agent key's memories: test/memory/agent-keys.test.ts).
    expect(rows).toEqual(TENANT_TABLES_SORTED.map((table) => ({ table, commands: ['DELETE', 'INSERT', 'SELECT', 'UPDATE'] })));
  });

  it('keys every tenant table by (tenant_id, ...)', async () => {
    const { rows } = await database.admin.query<{ table: string; first_column: string }>(
      `SELECT c.relname AS table, a.attname AS first_column
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'
       LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
       WHERE ${HAS_TENANT_ID}
       ORDER BY 1`,
    );
    // A table without a primary key shows up with first_column null, and fails here.
    expect(rows).toEqual(TENANT_TABLES_SORTED.map((table) => ({ table, first_column: 'tenant_id' })));
  });
});

describe('the modules\' table declarations', () => {
  it('name only columns the tables have', async () => {
    const declared = TEST_REGISTRY.tenantTableDeclarations().flatMap((table) =>
      [...(table.secret ?? []), ...Object.keys(table.personal ?? {})].map((column) => `${table.name}.${column}`),
    );
    expect(declared.length).toBeGreaterThan(0);
    const { rows } = await database.admin.query<{ column: string }>(
      `SELECT table_name || '.' || column_name AS column FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name || '.' || column_name = ANY($1)`,
      [declared],
    );
    expect(rows.map((row) => row.column).sort()).toEqual([...declared].sort());
  });

  it('declare every column holding a token or key hash secret', async () => {
    const { rows } = await database.admin.query<{ column: string }>(
      `SELECT table_name || '.' || column_name AS column FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name = ANY($1) AND column_name ~ '(hash|secret)'`,
      [TENANT_TABLES_SORTED],
    );
    const secrets = new Set(TEST_REGISTRY.tenantTableDeclarations().flatMap((table) => (table.secret ?? []).map((column) => `${table.name}.${column}`)));
    expect(rows.map((row) => row.column).filter((column) => !secrets.has(column))).toEqual([]);
  });
});
