// No pg client, pool or connection reaches a log line whole: they hold the password, the
// cancel key and a socket. Checked with real connections, one of them dropped by the server;
// graphile-worker job lines name the job instead of carrying its row.

import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerLogger } from '../../src/jobs/worker-logger.js';
import { asRole } from '../../src/db/open-database.js';
import { createLogger } from '../../src/logger.js';
import { TEST_LOGIN_PASSWORD, TEST_ROLES } from '../support/roles.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

let database: TestDatabase;
/** The request login's URL: it always carries a password (the admin URL may have none, e.g. under trust auth). */
let loginUrl: string;

beforeAll(async () => {
  database = await createTestDatabase();
  loginUrl = asRole(database.url, TEST_ROLES.login, TEST_LOGIN_PASSWORD);
});

afterAll(async () => {
  await database.drop();
});

/** A logger whose output the test can read. */
function capturingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger('debug', sink), output: () => lines.join('') };
}

function expectNoPgInternals(output: string): void {
  expect(output).not.toContain(TEST_LOGIN_PASSWORD);
  const adminPassword = decodeURIComponent(new URL(database.url).password);
  if (adminPassword) expect(output).not.toContain(adminPassword);
  expect(output).not.toContain('secretKey');
  expect(output).not.toContain('connectionParameters');
  expect(output).not.toContain('_clients');
  expect(output).not.toContain('parsedStatements');
}

describe('logging pg objects', () => {
  it('summarises a connected client, a pool and a connection string by host and database', async () => {
    const client = new pg.Client({ connectionString: loginUrl });
    await client.connect();
    const pool = new pg.Pool({ connectionString: loginUrl, max: 1 });
    try {
      await pool.query('SELECT 1');
      const { logger, output } = capturingLogger();
      logger.info({ client, nested: { pool, connection: client.connection }, connectionString: loginUrl }, 'pg objects');
      logger.error({ err: Object.assign(new Error('boom'), { client }) }, 'an error carrying its client');
      expectNoPgInternals(output());
      const [plain, failed] = output().split('\n').filter(Boolean).map((line) => JSON.parse(line));
      expect(plain.client).toEqual({ pg: 'Client', host: client.host, port: client.port, database: database.name, user: client.user });
      expect(plain.nested.pool).toMatchObject({ pg: 'Pool' });
      expect(plain.nested.connection).toEqual({ pg: 'Connection' });
      expect(plain.connectionString).toContain('[redacted]');
      expect(failed.err).toMatchObject({ message: 'boom', stack: expect.stringContaining('Error: boom'), client: { pg: 'Client' } });
    } finally {
      await client.end();
      await pool.end();
    }
  });

  it('logs a dropped idle connection the way graphile-worker reports it, without the client', async () => {
    const { logger, output } = capturingLogger();
    const log = workerLogger(logger);
    const pool = new pg.Pool({ connectionString: loginUrl, max: 1 });
    // graphile-worker's own handler for idle clients' errors; pg-pool sets err.client.
    const dropped = new Promise<Error>((resolve) => pool.once('error', resolve));
    pool.on('error', (error) => log.error(`PostgreSQL idle client generated error: ${error.message}`, { error }));
    try {
      const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await database.admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      const error = await dropped;
      expect((error as Error & { client?: unknown }).client).toBeInstanceOf(pg.Client);
      await expect.poll(output, { timeout: 10_000 }).toContain('PostgreSQL idle client generated error');
      expectNoPgInternals(output());
      const line = JSON.parse(output().split('\n').filter(Boolean).at(-1)!);
      expect(line).toMatchObject({ component: 'graphile-worker', err: { client: { pg: 'Client', database: database.name } } });
    } finally {
      await pool.end();
    }
  });
});

describe('graphile-worker job lines', () => {
  it('name the job by id, task and attempt, without its queue row and payload', () => {
    const { logger, output } = capturingLogger();
    const job = { id: '7', task_identifier: 'roll-up-usage', attempts: 1, payload: { tenantId: 'a-tenant', note: 'payload text' }, key: 'k', locked_by: 'w' };
    workerLogger(logger).info('Completed task 7 (roll-up-usage) with success', { job, success: true });
    const line = JSON.parse(output());
    expect(line.job).toEqual({ id: '7', task: 'roll-up-usage', attempts: 1 });
    expect(line.success).toBe(true);
    expect(output()).not.toContain('payload text');
  });
});
