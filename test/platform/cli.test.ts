// The `tenantry` command against an external database: `tenants create` prints the new
// tenant as JSON and writes it; `migrate` on a current schema changes nothing.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ROLES } from '../support/roles.js';
import { TEST_JWT_SECRET } from '../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const run = promisify(execFile);

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database.drop();
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function tenantry(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'src/cli.ts', ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        DATABASE_URL: database.url,
        TENANTRY_JWT_SECRET: TEST_JWT_SECRET,
        TENANTRY_DB_OWNER_ROLE: TEST_ROLES.owner,
        TENANTRY_DB_APP_ROLE: TEST_ROLES.app,
        TENANTRY_DB_SERVICE_ROLE: TEST_ROLES.service,
        ...env,
      },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('tenantry tenants create', () => {
  it('prints the tenant, owner id and API key as JSON, and the tenant exists', async () => {
    const result = await tenantry(
      ['tenants', 'create', '--name', 'Acme CLI', '--slug', 'acme-cli', '--subdomain', 'acme-cli', '--owner-email', 'cli-owner@example.test'],
      { TENANTRY_OWNER_PASSWORD: 'cli owner password' },
    );
    expect(result.code, result.stderr).toBe(0);
    const output = JSON.parse(result.stdout);
    expect(output).toMatchObject({
      tenant: { id: expect.any(String), name: 'Acme CLI', slug: 'acme-cli', subdomain: 'acme-cli', plan: 'free' },
      ownerId: expect.any(String),
      apiKey: { id: expect.any(String), prefix: expect.any(String), key: expect.stringMatching(/^tnt_/) },
    });
    expect(output.tenant).not.toHaveProperty('settings');

    const { rows } = await database.admin.query(
      `SELECT t.slug, m.role, u.email FROM tenants t
       JOIN memberships m ON m.tenant_id = t.id JOIN users u ON u.id = m.user_id WHERE t.id = $1`,
      [output.tenant.id],
    );
    expect(rows).toEqual([{ slug: 'acme-cli', role: 'owner', email: 'cli-owner@example.test' }]);
    const keys = await database.admin.query('SELECT id FROM api_keys WHERE tenant_id = $1', [output.tenant.id]);
    expect(keys.rows).toEqual([{ id: output.apiKey.id }]);
  });

  it('exits non-zero with the problem code when the slug is taken', async () => {
    const args = ['tenants', 'create', '--name', 'Twice', '--slug', 'cli-twice', '--owner-email', 'twice@example.test'];
    const env = { TENANTRY_OWNER_PASSWORD: 'cli owner password' };
    expect((await tenantry(args, env)).code).toBe(0);
    const again = await tenantry(args, env);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('slug-taken');
    expect(again.stdout).toBe('');
  });

  it('exits non-zero without writing when no owner password is given', async () => {
    const result = await tenantry(['tenants', 'create', '--name', 'NoPw', '--slug', 'cli-no-password', '--owner-email', 'nopw@example.test']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('password');
    const { rows } = await database.admin.query(`SELECT 1 FROM tenants WHERE slug = 'cli-no-password'`);
    expect(rows).toEqual([]);
  });
});

describe('tenantry migrate', () => {
  it('is a no-op on a database that is already migrated', async () => {
    const before = await database.admin.query('SELECT name, run_on FROM tenantry_migrations ORDER BY id');
    expect(before.rows.length).toBeGreaterThan(0);
    const result = await tenantry(['migrate']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('schema is current'); // logs go to stderr, stdout is for results
    const after = await database.admin.query('SELECT name, run_on FROM tenantry_migrations ORDER BY id');
    expect(after.rows).toEqual(before.rows);
  });
});
