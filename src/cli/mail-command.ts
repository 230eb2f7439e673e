// `tenantry mail`: prints the local mailbox (the mail Tenantry sent with no SMTP server
// configured), newest first, as JSON. Read as the service role, like the admin route.

import { deploymentModules } from '../built-in-modules.js';
import { loadConfig } from '../config.js';
import { BACKGROUND_LIMITS } from '../db/bounded-pool.js';
import { createPool, Database } from '../db/database.js';
import { openDatabase } from '../db/open-database.js';
import type { EmailTables } from '../email/email-tables.js';
import { unsafeReadMailbox } from '../email/mailbox-repository.js';
import { createLogger } from '../logger.js';
import { ModuleRegistry } from '../modules/registry.js';

export interface MailOptions {
  readonly limit?: string;
  readonly to?: string;
}

export async function mailCommand(options: MailOptions): Promise<void> {
  const limit = options.limit === undefined ? 20 : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new Error('--limit must be a whole number from 1 to 1000');
  if (options.to !== undefined && !/^[^\s@]+@[^\s@]+$/.test(options.to)) throw new Error('--to must be an email address');
  const config = loadConfig();
  const logger = createLogger(config.logLevel, process.stderr);
  const modules = new ModuleRegistry(deploymentModules(config));
  const database = await openDatabase(config, logger, { migrate: config.databaseUrl === undefined, modules: modules.modules });
  const pool = createPool(database.serviceUrl, 1, logger, BACKGROUND_LIMITS);
  try {
    const db = new Database({ pool, roles: config.roles, logger, modules, distributed: database.distributed }).withTables<EmailTables>();
    const page = await db.service('operator: read the local mailbox (tenantry mail)', (tx) => unsafeReadMailbox(tx, { limit, to: options.to }));
    process.stdout.write(JSON.stringify(page.rows, null, 2) + '\n');
  } finally {
    await pool.end();
    await database.close();
  }
}
