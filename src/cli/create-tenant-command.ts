// `tenantry tenants create`: a tenant, its owner and first API key in one transaction,
// printed as JSON.

import { loadOrCreateJwtSecret } from '../auth/jwt-key-file.js';
import { deploymentModules } from '../built-in-modules.js';
import { systemClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { createPool } from '../db/database.js';
import { openDatabase } from '../db/open-database.js';
import { createLogger } from '../logger.js';
import { accountMail } from '../accounts/accounts.module.js';
import { createServices } from '../services.js';
import { TenantProvisioning, type ProvisionInput } from '../tenancy/provisioning/provision-tenant.js';
import { tenantView } from '../tenancy/tenant-view.js';

/** `input` is checked already (tenant-options.ts). */
export async function createTenantCommand(input: ProvisionInput): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, process.stderr);
  const modules = deploymentModules(config);
  const database = await openDatabase(config, logger, { migrate: config.databaseUrl === undefined, modules });
  const pool = createPool(database.appUrl, 2, logger, config.databaseLimits);
  const servicePool = createPool(database.serviceUrl, 1, logger, config.databaseLimits);
  try {
    const jwt = config.jwt ?? (await loadOrCreateJwtSecret(config.dataDir));
    const services = createServices({ modules, config, jwt, pool, servicePool, clock: systemClock, logger, distributed: database.distributed });
    const created = await new TenantProvisioning(services.db, services.sessions, accountMail(services)).provision(input);
    // The same public shape as POST /v1/tenants: internal columns (settings, branding) stay in.
    process.stdout.write(
      JSON.stringify({ tenant: tenantView(created.tenant), ownerId: created.owner.id, apiKey: created.apiKey }, null, 2) + '\n',
    );
  } finally {
    await pool.end();
    await servicePool.end();
    await database.close();
  }
}
