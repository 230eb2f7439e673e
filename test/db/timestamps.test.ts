// Our pools read timestamptz digit by digit when PostgreSQL prints it in UTC; the result must
// be exactly what node-postgres's general parser makes of the same text, for every shape
// PostgreSQL prints, and anything else must take the general parser.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { microsecondISOString, parseTimestamptz, poolTypes, StoredInstant } from '../../src/db/timestamps.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const general = pg.types.getTypeParser(1184, 'text') as (text: string) => unknown;

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database.drop();
});

/** Timestamps as PostgreSQL prints them in the given session time zone. */
async function printed(timeZone: string, expressions: string): Promise<string[]> {
  const client = await database.admin.connect();
  try {
    await client.query(`SET TimeZone = '${timeZone}'`);
    const { rows } = await client.query<{ text: string }>(`SELECT ts::text AS text FROM (${expressions}) AS t(ts)`);
    return rows.map((row) => row.text);
  } finally {
    await client.query('RESET TimeZone');
    client.release();
  }
}

/** Instants with every count of fraction digits, leap days, both ends of the fast path's years. */
const INSTANTS = `
  SELECT timestamptz '2026-12-03 10:27:18.123456+00' + make_interval(secs => g * 1577836.800001)
    FROM generate_series(-20000, 20000, 7) g
  UNION ALL SELECT unnest(ARRAY[
    timestamptz '2026-12-03 10:27:18+00', '2026-12-03 10:27:18.1+00', '2026-12-03 10:27:18.12+00',
    '2026-12-03 10:27:18.123+00', '2026-12-03 10:27:18.1234+00', '2026-12-03 10:27:18.12345+00',
    '2026-12-03 10:27:18.999999+00', '2024-02-29 23:59:59.999+00', '2000-02-29 00:00:00+00',
    '1000-01-01 00:00:00+00', '9999-12-31 23:59:59.999999+00', '1970-01-01 00:00:00+00', '1969-12-31 23:59:59.5+00'
  ])`;

describe('reading timestamptz', () => {
  it('reads every UTC timestamp PostgreSQL prints exactly as the general parser does', async () => {
    const texts = await printed('UTC', INSTANTS);
    expect(texts.length).toBeGreaterThan(5000);
    expect(texts).toContain('2026-12-03 10:27:18.1+00');
    for (const text of texts) {
      const fast = parseTimestamptz(text);
      expect(fast, text).toBeInstanceOf(Date);
      expect((fast as Date).getTime(), text).toBe((general(text) as Date).getTime());
      // Its ISO form and JSON come from the text, and must be Date's own to the character.
      expect((fast as Date).toISOString(), text).toBe((general(text) as Date).toISOString());
      expect(JSON.stringify({ at: fast }), text).toBe(JSON.stringify({ at: general(text) }));
    }
  });

  it('gives every instant to the microsecond, read in any session time zone, as PostgreSQL formats it in UTC', async () => {
    for (const timeZone of ['UTC', 'Asia/Kolkata', 'America/St_Johns', 'Pacific/Chatham', 'Europe/Amsterdam']) {
      const client = await database.admin.connect();
      try {
        await client.query(`SET TimeZone = '${timeZone}'`);
        const { rows } = await client.query<{ text: string; exact: string }>(
          `SELECT ts::text AS text, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS exact FROM (${INSTANTS}) AS t(ts)`,
        );
        for (const { text, exact } of rows) expect(microsecondISOString(parseTimestamptz(text)), `${timeZone} ${text}`).toBe(exact);
      } finally {
        await client.query('RESET TimeZone');
        client.release();
      }
    }
  });

  it('has no microseconds to give for a changed instant, a plain Date, BC, a year past 9999 or infinity', async () => {
    const read = parseTimestamptz('2026-12-03 10:27:18.123456+00') as Date;
    read.setUTCMilliseconds(124);
    expect(microsecondISOString(read)).toBeUndefined();
    expect(microsecondISOString(new Date())).toBeUndefined();
    const odd = await printed('UTC', `SELECT unnest(ARRAY[timestamptz '0001-01-01 00:00:00+00 BC', '12026-01-01 00:00:00+00', 'infinity'])`);
    for (const text of odd) expect(microsecondISOString(parseTimestamptz(text)), text).toBeUndefined();
    expect(microsecondISOString(parseTimestamptz('0099-06-01 12:00:00.5+00'))).toBe('0099-06-01T12:00:00.500000Z');
  });

  it('formats a read instant that was changed afterwards from its new time, not its text', () => {
    const read = parseTimestamptz('2026-12-03 10:27:18.123456+00') as Date;
    expect(read).toBeInstanceOf(StoredInstant);
    read.setUTCFullYear(2030);
    expect(read.toISOString()).toBe('2030-12-03T10:27:18.123Z');
    read.setTime(0);
    expect(JSON.stringify(read)).toBe('"1970-01-01T00:00:00.000Z"');
  });

  it('hands every other shape to the general parser: other zones, early and BC years, infinity', async () => {
    const zoned = await printed('Asia/Kolkata', 'SELECT timestamptz \'2026-12-03 10:27:18.5+00\' UNION ALL SELECT timestamptz \'1900-01-01 00:00:00+00\'');
    const odd = await printed(
      'UTC',
      `SELECT unnest(ARRAY[timestamptz '0099-06-01 12:00:00+00', '0001-01-01 00:00:00+00 BC', '12026-01-01 00:00:00+00', 'infinity', '-infinity'])`,
    );
    expect(odd).toContain('0099-06-01 12:00:00+00');
    for (const text of [...zoned, ...odd]) {
      expect(parseTimestamptz(text), text).toEqual(general(text));
    }
  });

  it('is what a pool built with poolTypes uses, and only for timestamptz', async () => {
    const pool = new pg.Pool({ connectionString: database.url, max: 1, types: poolTypes });
    try {
      await pool.query(`SET TimeZone = 'UTC'`);
      const { rows } = await pool.query<{ at: Date; day: Date; count: string }>(
        `SELECT timestamptz '2026-12-03 10:27:18.123456+00' AS at, timestamp '2026-12-03 10:27:18' AS day, 12::bigint AS count`,
      );
      expect(rows[0]!.at.toISOString()).toBe('2026-12-03T10:27:18.123Z');
      expect(rows[0]!.day).toEqual(pg.types.getTypeParser(1114, 'text')('2026-12-03 10:27:18'));
      expect(rows[0]!.count).toBe('12');
    } finally {
      await pool.end();
    }
  });
});
