// Starts Tenantry: opens the database (embedded by default), builds the app and listens.
// Shuts down in order on SIGINT/SIGTERM: stop accepting, drain, close the pools, stop PostgreSQL.

import type { FastifyInstance } from 'fastify';
import type { TenantryModule } from './modules/module.js';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { loadOrCreateJwtSecret } from './auth/jwt-key-file.js';
import { deploymentModules } from './built-in-modules.js';
import { systemClock } from './clock.js';
import type { Config } from './config.js';
import { BACKGROUND_LIMITS, endPool } from './db/bounded-pool.js';
import { createPool, createQueuePool } from './db/database.js';
import { openDatabase } from './db/open-database.js';
import { migrateQueue } from './jobs/migrate-queue.js';
import { assertPortFree } from './port-probe.js';
import { assertRequestLoginConfined } from './db/request-login.js';
import { createServices, type Services } from './services.js';
import { shutDownInOrder, type ShutdownStep } from './shutdown.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly address: string;
  stop(): Promise<void>;
}

/** Closing a pool or the job worker waits on the database; past this it is left behind. */
const RELEASE_WITHIN_MS = 5_000;
/** Past graphile-worker's own 5 s abort of running jobs, with room to hand them back. */
const JOBS_STOP_WITHIN_MS = 10_000;
/** Jobs' connections: a running job gets the background bounds' room to finish. */
const BACKGROUND_POOL_SIZE = 4;
/** Service work is rare (admin reads, purge, rollups): a few connections are enough. */
const SERVICE_POOL_SIZE = 4;

export interface ServerOptions {
  /** The modules to run; by default the built-in ones the configuration selects. */
  readonly modules?: readonly TenantryModule[];
  /** Builds the HTTP app from the services; by default Tenantry's own (buildApp). A host app registers the `tenantry` plugin. */
  readonly build?: (services: Services) => Promise<FastifyInstance>;
}

/**
 * Opens the database (embedded unless DATABASE_URL names one), migrates it in embedded mode,
 * starts the job worker and the outbox relay, and listens.
 *
 * @example
 *   const server = await startServer(loadConfig(), logger, { modules: [...platformModules, contractsModule] });
 */
export async function startServer(config: Config, logger: Logger, options: ServerOptions = {}): Promise<RunningServer> {
  // Before anything slow: a taken port is one sentence, not a stack after PostgreSQL booted.
  await assertPortFree(config.port, config.host, 'PORT');
  // Embedded mode owns its schema and migrates it; an external database is migrated explicitly.
  const modules = options.modules ?? deploymentModules(config);
  const database = await openDatabase(config, logger, { migrate: config.databaseUrl === undefined, modules });
  const jwt = config.jwt ?? (await loadOrCreateJwtSecret(config.dataDir));
  // Requests log in as the login role (embedded mode): privileges only inside a scoped
  // transaction. The job queue's own tables are the owner's, so the queue uses the admin login.
  const pool = createPool(database.appUrl, config.poolSize, logger, config.databaseLimits);
  const backgroundPool = createPool(database.appUrl, BACKGROUND_POOL_SIZE, logger, BACKGROUND_LIMITS);
  // Service work (admin reads, purge, rollups) is rare and mostly background: one pool, background bounds.
  const servicePool = createPool(database.serviceUrl, SERVICE_POOL_SIZE, logger, BACKGROUND_LIMITS);
  const queuePool = createQueuePool(database.url, logger);
  const services = createServices({
    modules,
    config,
    jwt,
    pool,
    servicePool,
    queuePool,
    backgroundPool,
    clock: systemClock,
    logger,
    distributed: database.distributed,
  });
  const app = await (options.build ?? buildApp)(services);
  // In-flight requests are bounded by the transaction timeout, so draining is too.
  const steps: ShutdownStep[] = [
    { name: 'http server', run: () => app.close(), withinMs: config.databaseLimits.transactionTimeoutMs + 1_000 },
    // Undelivered rows stay in the outbox for the next relay; only the pass in flight is awaited.
    // Before the job worker: the relay's consumers add jobs to the queue.
    { name: 'outbox relay', run: () => services.outbox.stop(), withinMs: RELEASE_WITHIN_MS },
    // graphile-worker asks running jobs to abort after 5 s, then fails them back to the queue.
    { name: 'job worker', run: () => services.jobs.stop(), withinMs: JOBS_STOP_WITHIN_MS },
    { name: 'request pool', run: () => endPool(pool), withinMs: RELEASE_WITHIN_MS },
    { name: 'background pool', run: () => endPool(backgroundPool), withinMs: RELEASE_WITHIN_MS },
    { name: 'service pool', run: () => endPool(servicePool), withinMs: RELEASE_WITHIN_MS },
    { name: 'queue pool', run: () => endPool(queuePool), withinMs: RELEASE_WITHIN_MS },
    { name: 'database', run: () => database.close(), withinMs: 2 * RELEASE_WITHIN_MS },
  ];
  try {
    await assertRequestLoginConfined(pool, config.roles);
    // The queue's schema is the owner's, created here (idempotent) before the worker looks for it.
    const queue = await migrateQueue(database.url, config.roles, logger);
    if (queue.installed && config.databaseUrl) {
      // Measured (docs/benchmarks.md): the installation leaves V8's allocation-site pretenuring
      // deciding to tenure what pg allocates for rows, so every request's short-lived row data
      // is kept through young-generation GCs and promoted, for the process's life (a fifth or
      // so of its throughput). `tenantry migrate` installs it ahead, in a process of its own.
      logger.warn('this server installed the job queue schema at start and will run slower until restarted; run `tenantry migrate` before starting servers');
    }
    await services.jobs.start({ concurrency: 2 });
    services.outbox.start();
    const address = await app.listen({ port: config.port, host: config.host });
    let stopping: Promise<void> | undefined;
    const stop = () => (stopping ??= shutDownInOrder(logger, steps));
    return { app, address, stop };
  } catch (error) {
    await shutDownInOrder(logger, steps);
    throw error;
  }
}
