// Layer 2 (RLS) alone, through the logins production uses: request connections cannot reach
// the BYPASSRLS service role by any spelling, and every unit sets every setting a policy reads.

import pg from 'pg';
import pino from 'pino';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, Database, type Tx } from '../../src/db/database.js';
import { asRole } from '../../src/db/open-database.js';
import { assertRequestLoginConfined } from '../../src/db/request-login.js';
import { runWithContext } from '../../src/tenancy/context.js';
import { TEST_LOGIN_PASSWORD, TEST_ROLES, TEST_SERVICE_LOGIN_PASSWORD } from '../support/roles.js';
import { seedTenant, type SeededTenant } from '../support/seed.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { TEST_REGISTRY, type TestTables } from '../support/modules.js';

const silent = pino({ level: 'silent' });

let database: TestDatabase;
let requestPool: pg.Pool;
let a: SeededTenant;
let b: SeededTenant;
/** RLS alone, logged in as the request login, on a pool of one so state would carry over. */
let rlsOnly: Database<TestTables>;

beforeAll(async () => {
  database = await createTestDatabase();
  a = await seedTenant(database.admin, 'A');
  b = await seedTenant(database.admin, 'B');
  requestPool = createPool(asRole(database.url, TEST_ROLES.login, TEST_LOGIN_PASSWORD), 1, silent);
  rlsOnly = new Database<TestTables>({ modules: TEST_REGISTRY, pool: requestPool, roles: TEST_ROLES, logger: silent, queryFilter: false });
});

afterAll(async () => {
  await requestPool.end();
  await database.drop();
});

function asB<T>(work: (tx: Tx<TestTables>) => Promise<T>): Promise<T | string> {
  return runWithContext({ requestId: 'attack', tenantId: b.tenantId }, () => rlsOnly.tenant(work)).catch(
    (error: Error) => error.message,
  );
}

async function membersOf(role: string): Promise<string[]> {
  const { rows } = await database.admin.query<{ rolname: string }>(
    `SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles r ON r.oid = m.member
     WHERE r.rolname = $1 ORDER BY 1`,
    [role],
  );
  return rows.map((row) => row.rolname);
}

describe('the request login', () => {
  it('is a member of the app role alone, and the service login of the service role alone', async () => {
    expect({ login: await membersOf(TEST_ROLES.login), serviceLogin: await membersOf(TEST_ROLES.serviceLogin) }).toEqual({
      login: [TEST_ROLES.app],
      serviceLogin: [TEST_ROLES.service],
    });
  });

  it.each([
    ['SET LOCAL ROLE', `set local role ${TEST_ROLES.service}`],
    ['SET LOCAL ROLE with a comment', `set local /* hidden */ role ${TEST_ROLES.service}`],
    ["set_config('role', ...)", `select set_config('role', '${TEST_ROLES.service}', true)`],
    ['RESET ROLE, then SET ROLE', `reset role; set role ${TEST_ROLES.service}`],
  ])('cannot switch to the service role inside a tenant transaction with %s', async (_name, statement) => {
    const result = await asB(async (tx) => {
      await sql.raw(statement).execute(tx);
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from tasks where tenant_id = ${a.tenantId}`.execute(tx);
      return rows[0]!.n;
    });
    expect(String(result)).toMatch(/permission denied/);
  });

  it('passes the start-up check, which refuses a superuser and a login that may use the service role', async () => {
    await expect(assertRequestLoginConfined(requestPool, TEST_ROLES)).resolves.toBeUndefined();
    const superuser = new pg.Pool({ connectionString: database.url, max: 1 });
    const serviceLogin = new pg.Pool({
      connectionString: asRole(database.url, TEST_ROLES.serviceLogin, TEST_SERVICE_LOGIN_PASSWORD),
      max: 1,
    });
    try {
      await expect(assertRequestLoginConfined(superuser, TEST_ROLES)).rejects.toThrow(/is a superuser.*TENANTRY_APP_DATABASE_URL/);
      await expect(assertRequestLoginConfined(serviceLogin, TEST_ROLES)).rejects.toThrow(/may switch to the service role/);
    } finally {
      await superuser.end();
      await serviceLogin.end();
    }
  });
});

describe('a session-level setting left on a pooled connection', () => {
  /** Leaves app.tenant_id = tenant A at session level on the pool's only connection. */
  async function leaveTenantASetting(): Promise<void> {
    const client = await requestPool.connect();
    await client.query(`SET app.tenant_id = '${a.tenantId}'`);
    client.release();
  }

  it('is not honoured by an identity-scoped unit', async () => {
    await leaveTenantASetting();
    const seen = await rlsOnly.identity({ userId: b.userId }, async (tx) => {
      const tasks = await tx.selectFrom('tasks').select('title').execute();
      const projects = await tx.selectFrom('projects').select('name').execute();
      return [...tasks.map((t) => t.title), ...projects.map((p) => p.name)];
    });
    expect(seen).toEqual([]);
  });

  it("is not honoured for another identity's reads (a user id left behind)", async () => {
    const client = await requestPool.connect();
    await client.query(`SET app.user_id = '${a.userId}'`);
    client.release();
    const memberships = await rlsOnly.identity({}, (tx) => tx.selectFrom('memberships').select('tenant_id').execute());
    expect(memberships).toEqual([]);
  });
});
