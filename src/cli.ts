#!/usr/bin/env node
// The `tenantry` command: start the server, migrate, create tenants, purge deleted ones.
// Only commander loads up front: each action imports its command, so --help answers at once.

import { createRequire } from 'node:module';
import { Command } from 'commander';

// ../package.json from both src/cli.ts and dist/cli.js.
const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

// Commands other than `start` print results on stdout; their logs go to stderr so the two
// never mix (e.g. `tenantry tenants create ... | jq`).
const program = new Command()
  .name('tenantry')
  .description('Multi-tenant SaaS backend on PostgreSQL with two-layer tenant isolation')
  .version(version);

program
  .command('start')
  .description('start the HTTP server (embedded PostgreSQL unless DATABASE_URL is set)')
  .action(async () => (await import('./cli/start-command.js')).startCommand());

program
  .command('migrate')
  .description('create the roles and apply pending migrations (DATABASE_URL, or the embedded database)')
  .action(async () => (await import('./cli/migrate-command.js')).migrateCommand());

program
  .command('revert')
  .description("undo a module's newest migrations, newest first, with their down sections (DATABASE_URL only); prints them as JSON")
  .requiredOption('--module <name>', 'the module (platform, billing, memory, …)')
  .option('--count <n>', 'how many of its applied migrations', '1')
  .option('--ignore-dependents', 'revert even while a module that depends on it is applied (you checked it does not use what is reverted)')
  .action(async (options) => (await import('./cli/migrate-command.js')).revertCommand(options));

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
  .action(async (options) => {
    // Options are checked before the database code is even loaded: a typo is answered at once.
    const { tenantInput } = await import('./cli/tenant-options.js');
    const input = tenantInput(options, process.env.TENANTRY_OWNER_PASSWORD);
    await (await import('./cli/create-tenant-command.js')).createTenantCommand(input);
  });

program
  .command('purge')
  .description('hard-delete tenants soft-deleted longer than the retention period; prints their ids as JSON')
  .option('--retention-days <days>', 'override TENANTRY_PURGE_RETENTION_DAYS')
  .action(async (options) => (await import('./cli/purge-command.js')).purgeCommand(options));

program
  .command('mail')
  .description('print the local mailbox (mail sent while no SMTP server is configured), newest first, as JSON')
  .option('--limit <n>', 'messages to print (1-1000)', '20')
  .option('--to <email>', 'only messages to this address')
  .action(async (options) => (await import('./cli/mail-command.js')).mailCommand(options));

program.parseAsync().catch((error: unknown) => {
  // An AppError (e.g. slug-taken) is told with its problem code; recognised by its name, so
  // this line does not load the HTTP layer.
  const message = !(error instanceof Error)
    ? String(error)
    : error.name === 'AppError'
      ? `${(error as Error & { code: string }).code}: ${error.message}`
      : error.message;
  process.stderr.write(`tenantry: ${message}\n`);
  process.exit(1);
});
