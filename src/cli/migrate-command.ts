// `tenantry migrate`: roles, schema migrations and the job queue's schema, on DATABASE_URL
// or on the embedded cluster in the data folder. `tenantry revert`: a module's newest
// migrations undone, on DATABASE_URL (an embedded start migrates again by itself).

import { deploymentModules } from '../built-in-modules.js';
import { loadConfig } from '../config.js';
import { migrate, revertMigrations } from '../db/migrate.js';
import { openDatabase } from '../db/open-database.js';
import { migrateQueue } from '../jobs/migrate-queue.js';
import { createLogger } from '../logger.js';

export async function migrateCommand(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, process.stderr);
  const modules = deploymentModules(config);
  if (config.databaseUrl) {
    const applied = await migrate({ databaseUrl: config.databaseUrl, roles: config.roles, modules });
    await migrateQueue(config.databaseUrl, config.roles, logger);
    logger.info({ applied }, applied.length ? 'migrations applied' : 'schema is current');
  } else {
    const database = await openDatabase(config, logger, { migrate: true, modules });
    await migrateQueue(database.url, config.roles, logger).finally(() => database.close());
  }
}

export async function revertCommand(options: { module: string; count: string; ignoreDependents?: boolean }): Promise<void> {
  const count = Number(options.count);
  if (!/^[1-9][0-9]*$/.test(options.count)) throw new Error('--count must be a whole number of at least 1');
  const config = loadConfig();
  if (!config.databaseUrl) throw new Error('revert needs DATABASE_URL: the embedded database migrates again on every start');
  const logger = createLogger(config.logLevel, process.stderr);
  const reverted = await revertMigrations({ databaseUrl: config.databaseUrl, roles: config.roles, modules: deploymentModules(config), module: options.module, count, ignoreDependents: options.ignoreDependents === true });
  logger.info({ reverted }, reverted.length ? 'migrations reverted' : 'nothing to revert');
  process.stdout.write(JSON.stringify(reverted) + '\n');
}
