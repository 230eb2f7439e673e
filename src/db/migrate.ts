// Applies the SQL files in ./migrations in order, each in its own transaction, as the
// owner role. Bookkeeping and locking are node-pg-migrate's; role names come from config.

import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import type { DatabaseRoles } from '../config.js';
import { ensureRoles } from './roles.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
export const MIGRATIONS_TABLE = 'tenantry_migrations';

export interface MigrateOptions {
  readonly databaseUrl: string;
  readonly roles: DatabaseRoles;
  /** Set the login roles' passwords (embedded mode and tests, where we manage them). */
  readonly loginPassword?: string | undefined;
  readonly serviceLoginPassword?: string | undefined;
  readonly log?: (message: string) => void;
}

/** Returns the names of the migrations it applied (empty when the schema was current). */
export async function migrate({ databaseUrl, roles, loginPassword, serviceLoginPassword, log = () => {} }: MigrateOptions): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await ensureRoles(client, roles, { loginPassword, serviceLoginPassword });
    // Session-level settings are fine here: this client is private and closed below.
    await client.query(`SET ROLE "${roles.owner}"`);
    await client.query("SELECT set_config('tenantry.app_role', $1, false), set_config('tenantry.service_role', $2, false)", [
      roles.app,
      roles.service,
    ]);
    const applied = await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      migrationsTable: MIGRATIONS_TABLE,
      direction: 'up',
      count: Infinity,
      singleTransaction: false,
      checkOrder: true,
      advisoryLockMode: 'wait',
      log,
    });
    return applied.map((migration) => migration.name);
  } finally {
    await client.end();
  }
}

/** Names of migration files not yet recorded as applied. */
export async function pendingMigrations(databaseUrl: string): Promise<string[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((file) => file.endsWith('.sql')).map((file) => file.replace(/\.sql$/, ''));
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [MIGRATIONS_TABLE]);
    if (!rows[0]!.exists) return files.sort();
    const applied = await client.query<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE}`);
    const done = new Set(applied.rows.map((row) => row.name));
    return files.filter((file) => !done.has(file)).sort();
  } finally {
    await client.end();
  }
}
