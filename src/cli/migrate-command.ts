// `tenantry migrate`: roles, schema migrations and the job queue's schema, on DATABASE_URL
// or on the embedded cluster in the data folder.

import { deploymentModules } from '../built-in-modules.js';
import { loadConfig } from '../config.js';
import { migrate } from '../db/migrate.js';
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
