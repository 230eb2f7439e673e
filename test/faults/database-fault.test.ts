// Which failures are the database's fault (503, retry later) and which are not: real errors
// from node-postgres against a real server, bare and wrapped the way callers wrap them.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseFault, DatabaseSaturatedError, TransactionTimeoutError } from '../../src/db/database-fault.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database.drop();
});

/** The error a fresh connection gets for `text`, and the connection closed afterwards. */
async function failureOf(text: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: database.url });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(text);
    throw new Error(`expected "${text}" to fail`);
  } catch (error) {
    return error;
  } finally {
    await client.end().catch(() => {});
  }
}

async function refusedConnection(): Promise<unknown> {
  const client = new pg.Client({ host: '127.0.0.1', port: 1, user: 'nobody', database: 'none' });
  return client.connect().then(
    () => new Error('connected to port 1?'),
    (error: unknown) => error,
  );
}

describe('database faults', () => {
  it('a refused connection is the database being unavailable', async () => {
    expect(databaseFault(await refusedConnection())).toBe('unavailable');
  });

  it('a backend terminated by the server (57P01) is unavailable', async () => {
    expect(databaseFault(await failureOf('SELECT pg_terminate_backend(pg_backend_pid())'))).toBe('unavailable');
  });

  it('a statement past statement_timeout (57014) is unavailable', async () => {
    expect(databaseFault(await failureOf("SET statement_timeout = '20ms'; SELECT pg_sleep(1)"))).toBe('unavailable');
  });

  it('the pool timing out a checkout, and a unit of work past its bound, are unavailable', () => {
    expect(databaseFault(new Error('timeout exceeded when trying to connect'))).toBe('unavailable');
    expect(databaseFault(new TransactionTimeoutError('held too long'))).toBe('unavailable');
  });

  it('a full waiting line is saturation, not unavailability', () => {
    expect(databaseFault(new DatabaseSaturatedError('50 waiting'))).toBe('saturated');
  });

  it('is found through cause chains and AggregateErrors', async () => {
    const refused = await refusedConnection();
    expect(databaseFault(new Error('loading the profile failed', { cause: new Error('query failed', { cause: refused }) }))).toBe('unavailable');
    expect(databaseFault(new AggregateError([new TypeError('unrelated'), refused]))).toBe('unavailable');
  });
});

describe('not database faults', () => {
  it('a constraint violation, a syntax error or a bug in our code stays what it is', async () => {
    expect(databaseFault(await failureOf('CREATE TEMP TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (1)'))).toBeUndefined();
    expect(databaseFault(await failureOf('SELEC 1'))).toBeUndefined();
    expect(databaseFault(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBeUndefined();
    expect(databaseFault('a string')).toBeUndefined();
    expect(databaseFault(undefined)).toBeUndefined();
  });
});
