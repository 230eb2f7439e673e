// `tenantry purge`: hard-deletes tenants soft-deleted longer than the retention period and
// prints their ids as JSON.

import { deploymentModules } from '../built-in-modules.js';
import { systemClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { BACKGROUND_LIMITS } from '../db/bounded-pool.js';
import { createPool, Database } from '../db/database.js';
import { openDatabase } from '../db/open-database.js';
import { ModuleRegistry } from '../modules/registry.js';
import { createLogger } from '../logger.js';
import { purgeDeletedTenants } from '../tenancy/lifecycle/purge-deleted-tenants.js';

export async function purgeCommand(options: { retentionDays?: string }): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, process.stderr);
  const retentionDays = options.retentionDays === undefined ? config.purgeRetentionDays : Number(options.retentionDays);
  if (!Number.isInteger(retentionDays) || retentionDays < 0) throw new Error('--retention-days must be a whole number of days');
  const modules = new ModuleRegistry(deploymentModules(config));
  const database = await openDatabase(config, logger, { migrate: config.databaseUrl === undefined, modules: modules.modules });
  // The purge is service work only, and background work: it gets minutes, not a request's seconds.
  const pool = createPool(database.serviceUrl, 2, logger, BACKGROUND_LIMITS);
  try {
    const db = new Database({ pool, roles: config.roles, logger, modules, distributed: database.distributed });
    const result = await purgeDeletedTenants(db, modules.tenantTables, systemClock, retentionDays, modules.personTables);
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } finally {
    await pool.end();
    await database.close();
  }
}
