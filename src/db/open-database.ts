// Finds the database to use: the external one named by DATABASE_URL (whose schema must be
// current), or the embedded one in the data folder (migrated on start).

import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { TenantryModule } from '../modules/module.js';
import { assertPortFree } from '../port-probe.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.js';
import { migrate, pendingMigrations } from './migrate.js';

export interface OpenDatabase {
  /** The administrative login: migrations, the job queue. */
  readonly url: string;
  /** What request pools log in with: the login role in embedded mode. */
  readonly appUrl: string;
  /** What the audited service helper logs in with: the service login role in embedded mode. */
  readonly serviceUrl: string;
  readonly embedded: boolean;
  /** The citus extension is installed: a distributed PostgreSQL (see DatabaseOptions.distributed). */
  readonly distributed: boolean;
  close(): Promise<void>;
}

export class PendingMigrationsError extends Error {
  override name = 'PendingMigrationsError';
}

/** An embedded login role's password, generated once and kept beside the cluster. */
async function embeddedPassword(dataDir: string, name: string): Promise<string> {
  const file = join(dataDir, name);
  const existing = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (existing) return existing;
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, password + '\n', { mode: 0o600 });
  return password;
}

/** The same server and database, logged in as another role. */
export function asRole(url: string, role: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(role);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

export interface OpenDatabaseOptions {
  /** Apply pending migrations (embedded mode); otherwise refuse to start with any pending. */
  readonly migrate: boolean;
  /** The modules whose schema the database must hold. */
  readonly modules: readonly TenantryModule[];
}

export async function openDatabase(config: Config, logger: Logger, options: OpenDatabaseOptions): Promise<OpenDatabase> {
  let embedded: EmbeddedDatabase | undefined;
  let url = config.databaseUrl;
  let appUrl = config.appDatabaseUrl ?? url;
  let serviceUrl = config.serviceDatabaseUrl ?? url;
  let loginPassword: string | undefined;
  let serviceLoginPassword: string | undefined;
  if (!url) {
    await assertPortFree(config.embeddedPort, '127.0.0.1', 'TENANTRY_EMBEDDED_PG_PORT');
    const started = Date.now();
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      port: config.embeddedPort,
      onLog: (message) => logger.debug({ postgres: message.trim() }, 'embedded postgres'),
    });
    url = embedded.url;
    loginPassword = await embeddedPassword(config.dataDir, 'db-login-password');
    serviceLoginPassword = await embeddedPassword(config.dataDir, 'db-service-login-password');
    appUrl = asRole(url, config.roles.login, loginPassword);
    serviceUrl = asRole(url, config.roles.serviceLogin, serviceLoginPassword);
    logger.info({ data_dir: config.dataDir, port: config.embeddedPort, ms: Date.now() - started }, 'embedded PostgreSQL started');
  }
  try {
    if (options.migrate) {
      const applied = await migrate({
        databaseUrl: url,
        roles: config.roles,
        modules: options.modules,
        loginPassword,
        serviceLoginPassword,
        log: (message) => logger.debug(message),
      });
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    } else {
      const pending = await pendingMigrations(url, options.modules);
      if (pending.length > 0) {
        throw new PendingMigrationsError(`the database has ${pending.length} pending migration(s) (${pending.join(', ')}): run \`tenantry migrate\``);
      }
    }
    // The embedded server has no extension of the kind.
    const distributed = embedded === undefined && (await hasCitus(url));
    return { url, appUrl: appUrl!, serviceUrl: serviceUrl!, embedded: embedded !== undefined, distributed, close: async () => embedded?.stop() };
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}

async function hasCitus(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ citus: boolean }>(`SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') AS citus`);
    return rows[0]!.citus;
  } finally {
    await client.end();
  }
}
