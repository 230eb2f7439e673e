// Two seeded tenants on a database of their own, and the three ways the isolation suites
// run tenant work: both layers, RLS alone (query filter off), and the query filter alone
// (RLS bypassed as the table owner, FORCE lifted on this database only).

import pg from 'pg';
import pino from 'pino';
import { createPool, Database, type Work } from '../../src/db/database.js';
import { runWithContext } from '../../src/tenancy/context.js';
import { patient } from './pools.js';
import { TEST_ROLES } from './roles.js';
import { seedTenant, type SeededTenant } from './seed.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';
import { TEST_REGISTRY, type TestTables } from './modules.js';

/** The registered modules' tenant tables. */
const TENANT_TABLES = [...TEST_REGISTRY.tenantTables];

export const silent = pino({ level: 'silent' });

export interface IsolationHarness {
  readonly database: TestDatabase;
  readonly pool: pg.Pool;
  readonly a: SeededTenant;
  readonly b: SeededTenant;
  bothLayers(): Database<TestTables>;
  rlsOnly(): Database<TestTables>;
  filterOnly(): Database<TestTables>;
  close(): Promise<void>;
}

/** Each way a test database enforces isolation, by name: both layers, and each alone. */
export const ISOLATION_LAYERS: Readonly<Record<string, (harness: IsolationHarness) => Database<TestTables>>> = {
  'both layers': (harness) => harness.bothLayers(),
  'RLS alone': (harness) => harness.rlsOnly(),
  'the query filter alone': (harness) => harness.filterOnly(),
};

export async function startIsolationHarness(poolSize = 4): Promise<IsolationHarness> {
  const database = await createTestDatabase();
  const pool = patient(createPool(database.url, poolSize, silent));
  const a = await seedTenant(database.admin, 'A');
  const b = await seedTenant(database.admin, 'B');
  for (const table of TENANT_TABLES) await database.admin.query(`ALTER TABLE ${table} NO FORCE ROW LEVEL SECURITY`);
  return {
    database,
    pool,
    a,
    b,
    bothLayers: () => new Database<TestTables>({ modules: TEST_REGISTRY, pool, roles: TEST_ROLES, logger: silent }),
    rlsOnly: () => new Database<TestTables>({ modules: TEST_REGISTRY, pool, roles: TEST_ROLES, logger: silent, queryFilter: false }),
    filterOnly: () => new Database<TestTables>({ modules: TEST_REGISTRY, pool, roles: { ...TEST_ROLES, app: TEST_ROLES.owner }, logger: silent }),
    async close() {
      await pool.end();
      await database.drop();
    },
  };
}

/** Runs work as the given tenant, the attacker's side of every isolation test. */
export function asTenant<T>(tenant: SeededTenant, db: Database<TestTables>, work: Work<T, TestTables>): Promise<T> {
  return runWithContext({ requestId: 'attack', tenantId: tenant.tenantId }, () => db.tenant(work));
}
