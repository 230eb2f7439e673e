// Statements sent with one Sync (db/pipeline.ts): every result comes back in order; a failure
// skips everything behind it and names the statement; named statements stay known correctly to
// node-postgres on the connection, whichever statement failed; rows are built per column list
// as node-postgres would build them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { endPool, sendQuery } from '../../src/db/bounded-pool.js';
import { createPool } from '../../src/db/database.js';
import { sendPipeline, type PipelinedStatement } from '../../src/db/pipeline.js';
import { rowBuilder } from '../../src/db/row-builders.js';
import { silent } from '../support/isolation-harness.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

let database: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  database = await createTestDatabase();
  await database.admin.query('CREATE TABLE notes (id int PRIMARY KEY, body text)');
  pool = createPool(database.url, 2, silent);
});

afterAll(async () => {
  await endPool(pool);
  await database.drop();
});

async function withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await work(client);
  } finally {
    client.release();
  }
}

const notes = async () => (await database.admin.query<{ id: number }>('SELECT id FROM notes ORDER BY id')).rows.map((row) => row.id);

/** The statements this connection holds prepared, by text. */
const preparedTexts = async (client: pg.PoolClient) =>
  (await sendQuery(client, 'SELECT statement FROM pg_prepared_statements')).rows.map((row: { statement: string }) => row.statement);

describe('a pipeline', () => {
  it('answers every statement in order, one result each, rows or none', async () => {
    const outcome = await withClient((client) =>
      sendPipeline(client, [
        { text: 'BEGIN' },
        { text: "SET LOCAL app.note = 'seven'" },
        { text: 'SELECT $1::int AS one, $2::text AS two', values: [1, 'second'] },
        { text: "SELECT current_setting('app.note') AS note" },
        { text: 'SELECT g FROM generate_series(1, 3) g', prepared: true },
        { text: 'COMMIT' },
      ]),
    );
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.results.map((result) => result.command)).toEqual(['BEGIN', 'SET', 'SELECT', 'SELECT', 'SELECT', 'COMMIT']);
    expect(outcome.results[2]!.rows).toEqual([{ one: 1, two: 'second' }]);
    expect(outcome.results[3]!.rows).toEqual([{ note: 'seven' }]);
    expect(outcome.results[4]!.rows).toEqual([{ g: 1 }, { g: 2 }, { g: 3 }]);
  });

  it('runs nothing after a failed statement and names it; an open transaction is left aborted', async () => {
    await withClient(async (client) => {
      const outcome = await sendPipeline(client, [
        { text: 'BEGIN' },
        { text: 'INSERT INTO notes VALUES (1)' },
        { text: 'SELECT 1 / $1::int AS broken', values: [0] },
        { text: 'INSERT INTO notes VALUES (2)' },
        { text: 'COMMIT' },
      ]);
      expect(outcome).toMatchObject({ ok: false, failedAt: 2, reusable: true, error: { code: '22012' } });
      // The failure is answered before the transaction's state: the next query sees it aborted.
      await expect(sendQuery(client, 'SELECT 1')).rejects.toMatchObject({ code: '25P02' });
      await sendQuery(client, 'ROLLBACK');
      expect(client.getTransactionStatus()).toBe('I');
    });
    expect(await notes()).toEqual([]);
  });

  it('without BEGIN is one implicit transaction: a failure undoes what ran before it', async () => {
    const outcome = await withClient((client) =>
      sendPipeline(client, [{ text: 'INSERT INTO notes VALUES (3)' }, { text: 'INSERT INTO notes VALUES (3)' }, { text: 'INSERT INTO notes VALUES (4)' }]),
    );
    expect(outcome).toMatchObject({ ok: false, failedAt: 1, error: { code: '23505' } });
    expect(await notes()).toEqual([]);
  });

  it('keeps node-postgres right about which named statements exist, before, at and after a failure', async () => {
    const before: PipelinedStatement = { text: 'SELECT 1 AS parsed_before', prepared: true };
    const failing: PipelinedStatement = { text: 'SELECT 1 / $1::int AS failing', values: [0], prepared: true };
    const after: PipelinedStatement = { text: 'SELECT 1 AS skipped_after', prepared: true };
    const client = await pool.connect();
    // The failing statement was parsing: whether its name exists is not known, so the
    // connection is not to be reused.
    const first = await sendPipeline(client, [before, failing, after]);
    expect(first).toMatchObject({ ok: false, failedAt: 1, reusable: false });
    await sendQuery(client, 'ROLLBACK');
    expect(await preparedTexts(client)).toEqual(expect.arrayContaining([before.text, failing.text]));
    expect(await preparedTexts(client)).not.toContain(after.text);
    client.release(new Error('a name in doubt'));
    // Parsed once, the same failure leaves the connection as good as it was.
    await withClient(async (fresh) => {
      expect(await sendPipeline(fresh, [{ ...failing, values: [1] }])).toMatchObject({ ok: true });
      expect(await sendPipeline(fresh, [before, failing, after])).toMatchObject({ ok: false, failedAt: 1, reusable: true });
      const again = await sendPipeline(fresh, [before, { ...failing, values: [1] }, after]);
      expect(again.ok && again.results.map((result) => result.rows[0])).toEqual([{ parsed_before: 1 }, { failing: 1 }, { skipped_after: 1 }]);
    });
  });

  it('leaves a connection it fails on reusable when no name is in doubt, and its statements run again', async () => {
    await withClient(async (client) => {
      const lookup: PipelinedStatement = { text: 'SELECT $1::int / $2::int AS quotient', prepared: true };
      expect(await sendPipeline(client, [{ ...lookup, values: [6, 3] }])).toMatchObject({ ok: true });
      expect(await sendPipeline(client, [{ ...lookup, values: [6, 0] }])).toMatchObject({ ok: false, failedAt: 0, reusable: true });
      const again = await sendPipeline(client, [{ ...lookup, values: [8, 4] }, { text: 'SELECT 2 AS two', prepared: true }]);
      expect(again.ok && again.results.map((result) => result.rows[0])).toEqual([{ quotient: 2 }, { two: 2 }]);
      // node-postgres's own queries see the names the pipeline made and send no second Parse.
      const named = await sendQuery(client, { name: preparedName(client, lookup.text), text: lookup.text, values: [9, 3] });
      expect(named.rows).toEqual([{ quotient: 3 }]);
    });
  });

  it('refuses an empty statement, which would answer no result, and an empty pipeline', async () => {
    await withClient(async (client) => {
      await expect(sendPipeline(client, [{ text: ' ' }])).rejects.toThrow(/cannot be empty/);
      await expect(sendPipeline(client, [])).rejects.toThrow(/needs a statement/);
    });
  });
});

/** The name node-postgres knows `text` by on this connection. */
function preparedName(client: pg.PoolClient, text: string): string {
  const parsed = (client as unknown as { connection: { parsedStatements: Record<string, string> } }).connection.parsedStatements;
  const name = Object.keys(parsed).find((key) => parsed[key] === text);
  if (!name) throw new Error(`not prepared: ${text}`);
  return name;
}

describe('a row builder', () => {
  const text = (value: string) => value;
  const number = (value: string) => Number(value);

  it('builds what node-postgres builds: parsed values, NULL as null, the last of a repeated name', () => {
    const build = rowBuilder([{ name: 'id' }, { name: 'count' }, { name: 'id' }, { name: 'note' }])!;
    expect(build(['a', '7', 'b', null], [text, number, text, text])).toEqual({ id: 'b', count: 7, note: null });
  });

  it('quotes names as data', () => {
    const build = rowBuilder([{ name: "a'b\"c}; throw 1; ({" }, { name: 'constructor' }])!;
    expect(build(['x', 'y'], [text, text])).toEqual({ "a'b\"c}; throw 1; ({": 'x', constructor: 'y' });
  });

  it('leaves binary columns and a column named __proto__ to node-postgres', () => {
    expect(rowBuilder([{ name: 'bytes', format: 'binary' }])).toBeUndefined();
    expect(rowBuilder([{ name: '__proto__' }])).toBeUndefined();
  });

  it('is made once per column list', () => {
    expect(rowBuilder([{ name: 'x' }, { name: 'y' }])).toBe(rowBuilder([{ name: 'x' }, { name: 'y' }]));
  });
});
