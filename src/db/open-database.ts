// Finds the database to use: the external one named by DATABASE_URL (whose schema must be
// current), or the embedded one in the data folder (migrated on start).

import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.js';
import { migrate, pendingMigrations } from './migrate.js';

export interface OpenDatabase {
  readonly url: string;
  readonly embedded: boolean;
  close(): Promise<void>;
}

export class PendingMigrationsError extends Error {
  override name = 'PendingMigrationsError';
}

export async function openDatabase(config: Config, logger: Logger, options: { migrate: boolean }): Promise<OpenDatabase> {
  let embedded: EmbeddedDatabase | undefined;
  let url = config.databaseUrl;
  if (!url) {
    const started = Date.now();
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      port: config.embeddedPort,
      onLog: (message) => logger.debug({ postgres: message.trim() }, 'embedded postgres'),
    });
    url = embedded.url;
    logger.info({ data_dir: config.dataDir, port: config.embeddedPort, ms: Date.now() - started }, 'embedded PostgreSQL started');
  }
  try {
    if (options.migrate) {
      const applied = await migrate({ databaseUrl: url, roles: config.roles, log: (message) => logger.debug(message) });
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    } else {
      const pending = await pendingMigrations(url);
      if (pending.length > 0) {
        throw new PendingMigrationsError(`the database has ${pending.length} pending migration(s) (${pending.join(', ')}): run \`tenantry migrate\``);
      }
    }
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  return { url, embedded: embedded !== undefined, close: async () => embedded?.stop() };
}
