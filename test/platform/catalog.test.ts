// The database catalog itself proves the role model: the app role cannot read past RLS,
// owns nothing, and every tenant table has RLS enabled and forced.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ROLES } from '../support/roles.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

let database: TestDatabase;

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
    const { rows } = await database.admin.query(
      `SELECT c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1
       UNION ALL
       SELECT p.proname FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner WHERE r.rolname = $1`,
      [TEST_ROLES.app],
    );
    expect(rows).toEqual([]);
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
  it('is enabled and forced on every table that has a tenant_id column', async () => {
    const { rows } = await database.admin.query<{ table: string; enabled: boolean; forced: boolean }>(
      `SELECT c.relname AS table, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
         AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
       ORDER BY 1`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(5);
    for (const row of rows) expect(row, row.table).toMatchObject({ enabled: true, forced: true });
  });

  it('has a policy for each of SELECT, INSERT, UPDATE and DELETE on every tenant table', async () => {
    const { rows } = await database.admin.query<{ table: string; commands: string[] }>(
      `SELECT c.relname AS table, array_agg(DISTINCT p.cmd ORDER BY p.cmd) AS commands
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_policies p ON p.tablename = c.relname AND p.schemaname = n.nspname
       WHERE n.nspname = 'public' AND c.relkind = 'r'
         AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
       GROUP BY 1`,
    );
    for (const row of rows) expect(row.commands, row.table).toEqual(['DELETE', 'INSERT', 'SELECT', 'UPDATE']);
  });

  it('keys every tenant table by (tenant_id, ...)', async () => {
    const { rows } = await database.admin.query<{ table: string; first_column: string }>(
      `SELECT c.relname AS table, a.attname AS first_column
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
       WHERE k.contype = 'p' AND n.nspname = 'public'
         AND EXISTS (SELECT 1 FROM pg_attribute t WHERE t.attrelid = c.oid AND t.attname = 'tenant_id')`,
    );
    for (const row of rows) expect(row.first_column, row.table).toBe('tenant_id');
  });
});
