// The hazards the design must close, checked against the catalog and the source: what the
// app role can do, how policies read the tenant setting, and where that setting is written.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asRole } from '../../src/db/open-database.js';
import { TEST_LOGIN_PASSWORD, TEST_ROLES } from '../support/roles.js';
import { seedTenant, type SeededTenant } from '../support/seed.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { TEST_REGISTRY } from '../support/modules.js';

/** The registered modules' tenant tables. */
const TENANT_TABLES = [...TEST_REGISTRY.tenantTables];

let database: TestDatabase;
let tenantA: SeededTenant;
const app = TEST_ROLES.app;

beforeAll(async () => {
  database = await createTestDatabase();
  tenantA = await seedTenant(database.admin, 'A');
});

afterAll(async () => {
  await database.drop();
});

/** Runs statements as the app role inside a transaction that is always rolled back. */
async function asApp(work: (query: (text: string) => Promise<pg.QueryResult>) => Promise<void>): Promise<void> {
  const client = await database.admin.connect();
  try {
    await client.query(`BEGIN; SET LOCAL ROLE ${app}`);
    await work((text) => client.query(text));
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
  }
}

describe('the app role', () => {
  it('has no TRUNCATE, REFERENCES or TRIGGER on any table', async () => {
    const { rows } = await database.admin.query(
      `SELECT c.relname, p.privilege FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       CROSS JOIN unnest(ARRAY['TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p(privilege)
       WHERE n.nspname = 'public' AND c.relkind = 'r' AND has_table_privilege($1, c.oid, p.privilege)`,
      [app],
    );
    expect(rows).toEqual([]);
  });

  it('cannot turn row security off to read around the policies', async () => {
    await asApp(async (query) => {
      await query('SET LOCAL row_security = off');
      await expect(query('SELECT * FROM tasks')).rejects.toThrow(/row-level security/);
    });
  });

  it('can read only security_invoker views, but for the two named lookups of migration 0010', async () => {
    // tenant_registry and user_credentials read with their owner's rights on purpose (four
    // columns of every live tenant; one account's hash, by the email the unit names), are
    // security barriers, and are tested in tenant-wide-reads.test.ts. Any other such view fails here.
    const { rows } = await database.admin.query(
      `SELECT c.relname, 'security_barrier=true' = ANY (c.reloptions) AS barrier
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
         AND has_table_privilege($1, c.oid, 'SELECT')
         AND NOT coalesce('security_invoker=true' = ANY (c.reloptions), false)
       ORDER BY 1`,
      [app],
    );
    expect(rows).toEqual([
      { relname: 'tenant_registry', barrier: true },
      { relname: 'user_credentials', barrier: true },
    ]);
  });

  it('can execute no SECURITY DEFINER function of ours but the reviewed, tenant-confined ones', async () => {
    const { rows } = await database.admin.query(
      `SELECT n.nspname, p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')
         AND has_function_privilege($1, p.oid, 'EXECUTE')
       ORDER BY 1, 2`,
      [app],
    );
    // Recall's candidates and a store's near-duplicate reach the GIN indexes past RLS, confined
    // to app.tenant_id by the functions themselves: test/memory/recall-candidates.test.ts; so do
    // the vector arm's (it raises where the database lacks pgvector): semantic-recall.test.ts.
    expect(rows).toEqual([
      { nspname: 'tenantry_memory', proname: 'near_duplicate' },
      { nspname: 'tenantry_memory', proname: 'recall_text_candidates' },
      { nspname: 'tenantry_memory', proname: 'vector_candidates' },
    ]);
  });
});

describe('the login role requests connect with', () => {
  it('is NOINHERIT, neither superuser nor BYPASSRLS, and a member of the app role only', async () => {
    const { rows } = await database.admin.query(
      `SELECT r.rolinherit, r.rolsuper, r.rolbypassrls,
              array(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                    WHERE m.member = r.oid ORDER BY 1)::text[] AS member_of
       FROM pg_roles r WHERE r.rolname = $1`,
      [TEST_ROLES.login],
    );
    expect(rows).toEqual([
      { rolinherit: false, rolsuper: false, rolbypassrls: false, member_of: [TEST_ROLES.app] },
    ]);
  });

  it('can read nothing outside a scoped transaction', async () => {
    const login = new pg.Client({ connectionString: asRole(database.url, TEST_ROLES.login, TEST_LOGIN_PASSWORD) });
    await login.connect();
    try {
      for (const table of [...TENANT_TABLES, 'tenants', 'tenant_registry', 'users', 'user_credentials', 'sessions', 'service_role_audit']) {
        await expect(login.query(`SELECT 1 FROM ${table} LIMIT 1`), table).rejects.toThrow(/permission denied/);
      }
    } finally {
      await login.end();
    }
  });
});

describe('the tenant setting', () => {
  it('is read by every policy as nullif(current_setting(..., true), \'\')::uuid', async () => {
    const { rows } = await database.admin.query<{ tablename: string; policyname: string; expr: string }>(
      `SELECT tablename, policyname, coalesce(qual, '') || ' ' || coalesce(with_check, '') AS expr
       FROM pg_policies WHERE schemaname = 'public' AND tablename = ANY ($1)`,
      [[...TENANT_TABLES]],
    );
    // Every tenant table has the four tenant_ policies; some have more (reads by token or prefix).
    const tenantPolicies = rows.filter((r) => r.policyname.startsWith('tenant_'));
    expect(tenantPolicies.map((r) => `${r.tablename}.${r.policyname}`).sort()).toEqual(
      [...TENANT_TABLES].flatMap((table) => ['delete', 'insert', 'select', 'update'].map((command) => `${table}.tenant_${command}`)).sort(),
    );
    for (const row of rows.filter((r) => r.expr.includes("'app.tenant_id'"))) {
      expect(row.expr, `${row.tablename}.${row.policyname}`).toContain(
        "NULLIF(current_setting('app.tenant_id'::text, true), ''::text)",
      );
    }
    for (const row of tenantPolicies) expect(row.expr, 'an InitPlan: evaluated once per statement').toMatch(/\( SELECT \(NULLIF\(current_setting\('app\.tenant_id'/);
  });

  it('matches nothing when empty or missing, and rejects writes', async () => {
    // Tenant A has a row in every tenant table (seedTenant fails otherwise): zero means hidden.
    for (const setting of ["SET LOCAL app.tenant_id = ''", 'SELECT 1']) {
      await asApp(async (query) => {
        await query(setting);
        for (const table of TENANT_TABLES) {
          const { rows } = await query(`SELECT count(*)::int AS n FROM ${table}`);
          expect(rows[0]!.n, `${table} with ${setting}`).toBe(0);
        }
        await expect(query(`INSERT INTO projects (tenant_id, id, name) VALUES ('${tenantA.tenantId}', gen_random_uuid(), 'x')`)).rejects.toThrow(
          /row-level security/,
        );
      });
    }
  });
});

describe('identifiers', () => {
  it('are never sequential: no column takes its default from a sequence or identity', async () => {
    const { rows } = await database.admin.query(
      `SELECT table_name, column_name FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name NOT LIKE 'tenantry_migrations%'
         AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')`,
    );
    expect(rows).toEqual([]);
  });
});

describe('the source', () => {
  async function sources(dir: string): Promise<Array<{ file: string; text: string }>> {
    const entries = await readdir(dir, { withFileTypes: true, recursive: true });
    const files = entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));
    return Promise.all(files.map(async (file) => ({ file, text: await readFile(file, 'utf8') })));
  }

  it('never uses AsyncLocalStorage.enterWith', async () => {
    for (const { file, text } of await sources('src')) expect(text, file).not.toMatch(/\.enterWith\(/);
  });

  it('sets app.tenant_id only transaction-locally, in the scoped helper', async () => {
    // Reading a setting (current_setting('app.tenant_id', true), as the access checks do) is not writing it.
    const writes = (text: string) => text.replace(/current_setting\('app\.[a-z_]+', true\)/g, 'current_setting(…)');
    const writers = (await sources('src')).filter(({ text }) => /app\.tenant_id['"`]?\s*[=,]/.test(writes(text)) || /SET\s+app\./i.test(text));
    expect(writers.map((w) => w.file)).toEqual([join('src', 'db', 'database.ts')]);
    const helper = writers[0]!.text;
    expect(helper).not.toMatch(/SET\s+app\./);
    expect(helper).not.toMatch(/set_config\(\s*'app\./);
  });
});
