// Applies each registered module's migrations, modules in dependency order, each file in its
// own transaction, as the owner role. Bookkeeping and locking are node-pg-migrate's: one
// migrations table per module, so a module added to a running deployment simply finds its
// table empty and migrates. Role names come from config. revertMigrations() runs a module's
// down sections, newest first (`tenantry revert`); test/db/migrations-reversible.test.ts
// reverts every migration and checks that migrating up rebuilds the catalog exactly.

import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import type { DatabaseRoles } from '../config.js';
import type { TenantryModule } from '../modules/module.js';
import { ModuleRegistry } from '../modules/registry.js';
import { ensureRoles } from './roles.js';

/** The platform module's migrations: the schema every other module stands on. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

/** Where node-pg-migrate records a module's applied migrations. */
export function migrationsTableOf(module: Pick<TenantryModule, 'name'>): string {
  return `tenantry_migrations_${module.name}`;
}

/** Before modules, the platform's migrations were recorded here; it is renamed once, in place. */
const LEGACY_MIGRATIONS_TABLE = 'tenantry_migrations';

export interface MigrateOptions {
  readonly databaseUrl: string;
  readonly roles: DatabaseRoles;
  /** The modules whose migrations to apply (their dependencies must be among them). */
  readonly modules: readonly TenantryModule[];
  /** Set the login roles' passwords (embedded mode and tests, where we manage them). */
  readonly loginPassword?: string | undefined;
  readonly serviceLoginPassword?: string | undefined;
  readonly log?: (message: string) => void;
}

/**
 * Returns what it applied as `module/migration` (empty when the schema was current).
 *
 * @example
 *   await migrate({ databaseUrl, roles: config.roles, modules: [...builtInModules, contractsModule] });
 */
export async function migrate({ databaseUrl, roles, modules, loginPassword, serviceLoginPassword, log = () => {} }: MigrateOptions): Promise<string[]> {
  return asOwner(databaseUrl, roles, { loginPassword, serviceLoginPassword }, async (client) => {
    await renameLegacyTable(client);
    const applied: string[] = [];
    for (const module of new ModuleRegistry(modules).modules) {
      if (!module.migrations) continue;
      const done = await runner({ ...runnerOptions(client, module, log), direction: 'up', count: Infinity });
      applied.push(...done.map((migration) => `${module.name}/${migration.name}`));
    }
    return applied;
  });
}

export interface RevertOptions {
  readonly databaseUrl: string;
  readonly roles: DatabaseRoles;
  /** The deployment's modules: the one named must be among them. */
  readonly modules: readonly TenantryModule[];
  /** The module whose migrations to revert. */
  readonly module: string;
  /** How many of its applied migrations to revert, newest first (default 1). */
  readonly count?: number;
  /**
   * Revert even while a module that depends on this one has migrations applied: for when you
   * know they do not use what is reverted (PostgreSQL refuses to drop what a table or view
   * depends on, but not what a function body names).
   */
  readonly ignoreDependents?: boolean;
  readonly log?: (message: string) => void;
}

/**
 * Runs the down sections of a module's newest applied migrations, newest first, each in its
 * own transaction (a failing one leaves it and every older one applied). Refused while a
 * module that depends on it has migrations applied (revert those first), unless told to
 * ignore them.
 *
 * @example
 *   await revertMigrations({ databaseUrl, roles: config.roles, modules, module: 'billing', count: 1 });
 */
export async function revertMigrations({
  databaseUrl,
  roles,
  modules,
  module: name,
  count = 1,
  ignoreDependents = false,
  log = () => {},
}: RevertOptions): Promise<string[]> {
  const registry = new ModuleRegistry(modules);
  const module = registry.modules.find((candidate) => candidate.name === name);
  if (!module) throw new Error(`no module named "${name}" in this deployment`);
  if (!module.migrations) return [];
  if (!Number.isInteger(count) && count !== Infinity) throw new Error('count must be a whole number');
  if (count < 1) throw new Error('count must be at least 1');
  return asOwner(databaseUrl, roles, undefined, async (client) => {
    const dependents = ignoreDependents ? [] : registry.modules.filter((candidate) => candidate !== module && dependsOn(candidate, name));
    for (const dependent of dependents) {
      const { rows } = await client.query<{ applied: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS applied`, [migrationsTableOf(dependent)]);
      const applied = rows[0]!.applied && (await client.query(`SELECT 1 FROM ${migrationsTableOf(dependent)} LIMIT 1`)).rowCount! > 0;
      if (applied) throw new Error(`module "${dependent.name}" depends on "${name}" and has migrations applied: revert it first (or ignore dependents)`);
    }
    const reverted = await runner({ ...runnerOptions(client, module, log), direction: 'down', count });
    return reverted.map((migration) => `${name}/${migration.name}`);
  });
}

/** Whether `module` depends on the module named `name`, directly or through another. */
function dependsOn(module: TenantryModule, name: string): boolean {
  return (module.dependsOn ?? []).some((dependency) => dependency.name === name || dependsOn(dependency, name));
}

/**
 * The owner's session every migration runs in, with the role names a migration reads set;
 * migrating first creates or corrects the roles (`ensure`), reverting leaves them as they are.
 */
async function asOwner<T>(
  databaseUrl: string,
  roles: DatabaseRoles,
  ensure: { loginPassword?: string | undefined; serviceLoginPassword?: string | undefined } | undefined,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    if (ensure) await ensureRoles(client, roles, ensure);
    // Session-level settings are fine here: this client is private and closed below.
    await client.query(`SET ROLE "${roles.owner}"`);
    await client.query("SELECT set_config('tenantry.app_role', $1, false), set_config('tenantry.service_role', $2, false)", [
      roles.app,
      roles.service,
    ]);
    return await work(client);
  } finally {
    await client.end();
  }
}

function runnerOptions(client: pg.Client, module: TenantryModule, log: (message: string) => void) {
  return {
    dbClient: client,
    dir: module.migrations!,
    migrationsTable: migrationsTableOf(module),
    singleTransaction: false,
    checkOrder: true,
    advisoryLockMode: 'wait' as const,
    log,
  };
}

async function renameLegacyTable(client: pg.Client): Promise<void> {
  const platform = migrationsTableOf({ name: 'platform' });
  await client.query(
    `DO $$ BEGIN
       IF to_regclass('public.${LEGACY_MIGRATIONS_TABLE}') IS NOT NULL AND to_regclass('public.${platform}') IS NULL THEN
         ALTER TABLE public.${LEGACY_MIGRATIONS_TABLE} RENAME TO ${platform};
       END IF;
     END $$`,
  );
}

/** Migrations not yet recorded as applied, as `module/migration`, modules in dependency order. */
export async function pendingMigrations(databaseUrl: string, modules: readonly TenantryModule[]): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const pending: string[] = [];
    for (const module of new ModuleRegistry(modules).modules) {
      if (!module.migrations) continue;
      const files = (await readdir(module.migrations)).filter((file) => file.endsWith('.sql')).map((file) => file.replace(/\.sql$/, ''));
      const table = migrationsTableOf(module);
      const { rows } = await client.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [table]);
      const done = new Set(rows[0]!.exists ? (await client.query<{ name: string }>(`SELECT name FROM ${table}`)).rows.map((row) => row.name) : []);
      pending.push(...files.filter((file) => !done.has(file)).sort().map((file) => `${module.name}/${file}`));
    }
    return pending;
  } finally {
    await client.end();
  }
}
