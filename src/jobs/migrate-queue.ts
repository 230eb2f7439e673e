// Creates or upgrades the queue's own schema (graphile_worker) as the owner role, so the
// queue's tables belong to the owner like ours do, and the app role gets nothing on them.

import pg from 'pg';
import { runMigrations } from 'graphile-worker';
import type { Logger } from 'pino';
import type { DatabaseRoles } from '../config.js';
import { ensureRoles } from '../db/roles.js';
import { workerLogger } from './worker-logger.js';

export const QUEUE_SCHEMA = 'graphile_worker';

/**
 * Runs graphile-worker's migrations on a private connection whose role is set at start-up
 * (`-c role=<owner>`), so every statement, and every object created, is the owner's. The
 * queue tables hold every tenant's payloads and have no tenant_id, so the app role is
 * granted nothing on them. ensureRoles() first: it is idempotent, and it gives the owner
 * CREATE on this database (a database cloned from a template does not inherit that grant).
 * Answers whether the schema was missing, so this call installed it.
 */
export async function migrateQueue(databaseUrl: string, roles: DatabaseRoles, logger: Logger): Promise<{ installed: boolean }> {
  const login = new pg.Client({ connectionString: databaseUrl });
  await login.connect();
  let installed: boolean;
  try {
    await ensureRoles(login, roles);
    const { rows } = await login.query<{ missing: boolean }>(`SELECT to_regclass($1) IS NULL AS missing`, [`${QUEUE_SCHEMA}.migrations`]);
    installed = rows[0]!.missing;
  } finally {
    await login.end();
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1, options: `-c role=${roles.owner}` });
  // graphile-worker listens for its own use and stops when the migrations end; an idle client
  // the server terminates later (the embedded cluster stopping right after) must not crash us.
  pool.on('error', (error) => logger.warn({ err: error }, 'idle queue migration client failed'));
  try {
    await runMigrations({ pgPool: pool, schema: QUEUE_SCHEMA, logger: workerLogger(logger) });
  } finally {
    await pool.end();
  }
  return { installed };
}
