#!/usr/bin/env node
// The `tenantry` command: start the server, migrate an external database, create tenants.
// Each command reads the environment once (loadConfig) and exits non-zero on failure.

import { Command } from 'commander';
import { createLogger } from './logger.js';
import { loadConfig } from './config.js';
import { systemClock } from './clock.js';
import { BACKGROUND_LIMITS } from './db/bounded-pool.js';
import { createPool, Database } from './db/database.js';
import { openDatabase } from './db/open-database.js';
import { migrate } from './db/migrate.js';
import { migrateQueue } from './jobs/migrate-queue.js';
import { createServices } from './services.js';
import { startServer } from './server.js';
import { loadOrCreateJwtSecret } from './auth/jwt-key-file.js';
import { provisionTenant } from './tenancy/provisioning/provision-tenant.js';
import { tenantView } from './tenancy/tenant-view.js';
import { purgeDeletedTenants } from './tenancy/lifecycle/purge-deleted-tenants.js';
import { AppError } from './http/problems.js';

// Commands other than `start` print results on stdout; their logs go to stderr so the two
// never mix (e.g. `tenantry tenants create ... | jq`).
const program = new Command()
  .name('tenantry')
  .description('Multi-tenant SaaS backend on PostgreSQL with two-layer tenant isolation');

program
  .command('start')
  .description('start the HTTP server (embedded PostgreSQL unless DATABASE_URL is set)')
  .action(async () => {
    const config = loadConfig();
    const logger = createLogger(config.logLevel);
    const server = await startServer(config, logger);
    logger.info({ address: server.address, embedded: config.databaseUrl === undefined }, 'tenantry listening');
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        logger.info({ signal }, 'shutting down');
        server.stop().then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      });
    }
  });

program
  .command('migrate')
  .description('create the roles and apply pending migrations (DATABASE_URL, or the embedded database)')
  .action(async () => {
    const config = loadConfig();
    const logger = createLogger(config.logLevel, process.stderr);
    if (config.databaseUrl) {
      const applied = await migrate({ databaseUrl: config.databaseUrl, roles: config.roles });
      await migrateQueue(config.databaseUrl, config.roles, logger);
      logger.info({ applied }, applied.length ? 'migrations applied' : 'schema is current');
    } else {
      const database = await openDatabase(config, logger, { migrate: true });
      await migrateQueue(database.url, config.roles, logger).finally(() => database.close());
    }
  });

const tenants = program.command('tenants').description('manage tenants');

tenants
  .command('create')
  .description('create a tenant with its owner and first API key; prints them as JSON')
  .requiredOption('--name <name>', 'display name')
  .requiredOption('--slug <slug>', 'url-safe unique name')
  .option('--subdomain <subdomain>', 'unique subdomain')
  .option('--plan <plan>', 'plan key', 'free')
  .requiredOption('--owner-email <email>', "owner's email")
  .option('--owner-name <name>', "owner's name", 'Owner')
  .option('--owner-password <password>', "owner's password (or TENANTRY_OWNER_PASSWORD)")
  .action(async (options: Record<string, string>) => {
    const config = loadConfig();
    const logger = createLogger(config.logLevel, process.stderr);
    const password = options.ownerPassword ?? process.env.TENANTRY_OWNER_PASSWORD;
    if (!password || password.length < 10) throw new Error('an owner password of at least 10 characters is required');
    const database = await openDatabase(config, logger, { migrate: config.databaseUrl === undefined });
    const pool = createPool(database.appUrl, 2, logger, config.databaseLimits);
    const servicePool = createPool(database.serviceUrl, 1, logger, config.databaseLimits);
    try {
      const jwt = config.jwt ?? (await loadOrCreateJwtSecret(config.dataDir));
      const services = createServices({ config, jwt, pool, servicePool, clock: systemClock, logger });
      const created = await provisionTenant(services, {
        name: options.name!,
        slug: options.slug!,
        subdomain: options.subdomain,
        plan: options.plan,
        owner: { email: options.ownerEmail!, name: options.ownerName!, password },
      });
      // The same public shape as POST /v1/tenants: internal columns (settings, branding) stay in.
      process.stdout.write(
        JSON.stringify({ tenant: tenantView(created.tenant), ownerId: created.owner.id, apiKey: created.apiKey }, null, 2) + '\n',
      );
    } finally {
      await pool.end();
      await servicePool.end();
      await database.close();
    }
  });

program
  .command('purge')
  .description('hard-delete tenants soft-deleted longer than the retention period; prints their ids as JSON')
  .option('--retention-days <days>', 'override TENANTRY_PURGE_RETENTION_DAYS')
  .action(async (options: { retentionDays?: string }) => {
    const config = loadConfig();
    const logger = createLogger(config.logLevel, process.stderr);
    const retentionDays = options.retentionDays === undefined ? config.purgeRetentionDays : Number(options.retentionDays);
    if (!Number.isInteger(retentionDays) || retentionDays < 0) throw new Error('--retention-days must be a whole number of days');
    const database = await openDatabase(config, logger, { migrate: config.databaseUrl === undefined });
    // The purge is service work only, and background work: it gets minutes, not a request's seconds.
    const pool = createPool(database.serviceUrl, 2, logger, BACKGROUND_LIMITS);
    try {
      const db = new Database({ pool, roles: config.roles, logger });
      const result = await purgeDeletedTenants(db, systemClock, retentionDays);
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    } finally {
      await pool.end();
      await database.close();
    }
  });

program.parseAsync().catch((error: unknown) => {
  const message = error instanceof AppError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
  process.stderr.write(`tenantry: ${message}\n`);
  process.exit(1);
});
