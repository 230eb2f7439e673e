// Takes a test database back a few migrations (their Down sections), so a test can store
// data the way older code did and then check what the newer migrations make of it.

import { readdir } from 'node:fs/promises';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import { MIGRATIONS_DIR, migrate, migrationsTableOf } from '../../src/db/migrate.js';
import { TEST_LOGIN_PASSWORD, TEST_ROLES, TEST_SERVICE_LOGIN_PASSWORD } from './roles.js';
import { TEST_MODULES } from './modules.js';

/**
 * Undoes `first` and every migration after it, newest first; returns their names, oldest first
 * (what migrateUp then applies again). Named, not counted, so a new migration changes nothing here.
 */
export async function migrateDown(databaseUrl: string, first: string): Promise<string[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((file) => file.endsWith('.sql')).map((file) => file.replace(/\.sql$/, '')).sort();
  if (!files.includes(first)) throw new Error(`no migration ${first}`);
  const undone = files.slice(files.indexOf(first));
  const count = undone.length;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // As migrate() does: the owner role, and the role names the grants are written for.
    await client.query(`SET ROLE "${TEST_ROLES.owner}"`);
    await client.query("SELECT set_config('tenantry.app_role', $1, false), set_config('tenantry.service_role', $2, false)", [
      TEST_ROLES.app,
      TEST_ROLES.service,
    ]);
    await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      migrationsTable: migrationsTableOf({ name: 'platform' }),
      direction: 'down',
      count,
      singleTransaction: false,
      checkOrder: true,
      advisoryLockMode: 'wait',
      log: () => {},
    });
  } finally {
    await client.end();
  }
  return undone.map((name) => `platform/${name}`);
}

/** Applies every pending migration again, as `tenantry migrate` would. */
export function migrateUp(databaseUrl: string): Promise<string[]> {
  return migrate({ modules: TEST_MODULES, databaseUrl, roles: TEST_ROLES, loginPassword: TEST_LOGIN_PASSWORD, serviceLoginPassword: TEST_SERVICE_LOGIN_PASSWORD });
}
