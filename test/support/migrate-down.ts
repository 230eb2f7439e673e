// Takes a test database back a few migrations (their Down sections), so a test can store
// data the way older code did and then check what the newer migrations make of it.

import { readdir } from 'node:fs/promises';
import { MIGRATIONS_DIR, migrate, revertMigrations } from '../../src/db/migrate.js';
import { TEST_LOGIN_PASSWORD, TEST_ROLES, TEST_SERVICE_LOGIN_PASSWORD } from './roles.js';
import { TEST_MODULES } from './modules.js';

/**
 * Undoes platform migration `first` and every one after it, newest first; returns their names,
 * oldest first (what migrateUp then applies again). Named, not counted, so a new migration
 * changes nothing here. The other modules stay applied: these tests revert what they do not use.
 */
export async function migrateDown(databaseUrl: string, first: string): Promise<string[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((file) => file.endsWith('.sql')).map((file) => file.replace(/\.sql$/, '')).sort();
  if (!files.includes(first)) throw new Error(`no migration ${first}`);
  const undone = files.slice(files.indexOf(first));
  const reverted = await revertMigrations({
    databaseUrl,
    roles: TEST_ROLES,
    modules: TEST_MODULES,
    module: 'platform',
    count: undone.length,
    ignoreDependents: true,
  });
  return reverted.reverse();
}

/** Applies every pending migration again, as `tenantry migrate` would. */
export function migrateUp(databaseUrl: string): Promise<string[]> {
  return migrate({ modules: TEST_MODULES, databaseUrl, roles: TEST_ROLES, loginPassword: TEST_LOGIN_PASSWORD, serviceLoginPassword: TEST_SERVICE_LOGIN_PASSWORD });
}
