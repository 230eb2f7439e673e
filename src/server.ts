// Starts Tenantry: opens the database (embedded by default), builds the app and listens.
// Shuts down in order on SIGINT/SIGTERM: stop accepting, drain, close the pool, stop PostgreSQL.

import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { loadOrCreateJwtSecret } from './auth/jwt-key-file.js';
import { systemClock } from './clock.js';
import type { Config } from './config.js';
import { createPool, createQueuePool } from './db/database.js';
import { openDatabase } from './db/open-database.js';
import { migrateQueue } from './jobs/migrate-queue.js';
import { assertRequestLoginConfined } from './db/request-login.js';
import { createServices } from './services.js';

/** Service work is rare (admin reads, purge, rollups): a few connections are enough. */
const SERVICE_POOL_SIZE = 4;

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly address: string;
  stop(): Promise<void>;
}

export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  // Embedded mode owns its schema and migrates it; an external database is migrated explicitly.
  const database = await openDatabase(config, logger, { migrate: config.databaseUrl === undefined });
  const jwt = config.jwt ?? (await loadOrCreateJwtSecret(config.dataDir));
  // Requests log in as the login role (embedded mode): privileges only inside a scoped
  // transaction. The job queue's own tables are the owner's, so the queue uses the admin login.
  const pool = createPool(database.appUrl, config.poolSize, logger);
  const servicePool = createPool(database.serviceUrl, SERVICE_POOL_SIZE, logger);
  const queuePool = createQueuePool(database.url, logger);
  const services = createServices({ config, jwt, pool, servicePool, queuePool, clock: systemClock, logger });
  const app = await buildApp(services);
  try {
    await assertRequestLoginConfined(pool, config.roles);
    // The queue's schema is the owner's, created here (idempotent) before the worker looks for it.
    await migrateQueue(database.url, config.roles, logger);
    await services.jobs.start({ concurrency: 2 });
    const address = await app.listen({ port: config.port, host: config.host });
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        await app.close();
        await services.jobs.stop();
        await pool.end();
        await servicePool.end();
        await queuePool.end();
        await database.close();
      })());
    return { app, address, stop };
  } catch (error) {
    await app.close();
    await services.jobs.stop();
    await pool.end();
    await servicePool.end();
    await queuePool.end();
    await database.close();
    throw error;
  }
}
