// The keyset page helper on its own, against real PostgreSQL and a table of its own (the
// helper is generic over the database's tables): order, ties, the last and the empty page,
// and where a position comes from (the rows' own key columns, or the two it selects again).

import { Kysely, PostgresDialect, type Generated, type SelectQueryBuilder } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysetPage, keysetPageQuery, type Page, type PageKeys, type PageRequest, type SortOrder } from '../../src/db/keyset-page.js';
import { poolTypes } from '../../src/db/timestamps.js';
import { decodeCursor, encodeCursor } from '../../src/http/page-cursor.js';
import { AppError } from '../../src/http/problems.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

interface EntriesTables {
  entries: {
    id: string;
    label: string;
    created_at: Generated<Date>;
    archived_at: Date | null;
  };
}

/**
 * Three entries share one instant (only the id orders them); two differ by a microsecond
 * within one millisecond, which a JavaScript Date cannot tell apart.
 */
const ENTRIES = [
  ['01900000-0000-7000-8000-000000000001', 'a', '2026-01-01T10:00:00.000000Z'],
  ['01900000-0000-7000-8000-000000000003', 'b', '2026-01-01T10:00:00.000000Z'],
  ['01900000-0000-7000-8000-000000000002', 'c', '2026-01-01T10:00:00.000000Z'],
  ['01900000-0000-7000-8000-000000000004', 'd', '2026-01-01T10:00:00.000001Z'],
  ['01900000-0000-7000-8000-000000000005', 'e', '2026-01-01T10:00:00.000002Z'],
  ['01900000-0000-7000-8000-000000000006', 'f', '2026-01-02T00:00:00.000000Z'],
  ['01900000-0000-7000-8000-000000000007', 'g', '2026-01-03T00:00:00.000000Z'],
] as const;

const OLDEST_FIRST = ['a', 'c', 'b', 'd', 'e', 'f', 'g'];
const KEYS = { at: 'e.created_at', id: 'e.id' } as const;

let database: TestDatabase;
/** Read as every pool of ours reads: timestamps keep their microseconds (db/timestamps.ts). */
let pool: pg.Pool;
let db: Kysely<EntriesTables>;

beforeAll(async () => {
  database = await createTestDatabase();
  await database.admin.query(
    'CREATE TABLE entries (id uuid PRIMARY KEY, label text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), archived_at timestamptz)',
  );
  for (const [id, label, at] of ENTRIES) {
    await database.admin.query('INSERT INTO entries (id, label, created_at) VALUES ($1, $2, $3)', [id, label, at]);
  }
  pool = new pg.Pool({ connectionString: database.url, max: 2, types: poolTypes });
  db = new Kysely<EntriesTables>({ dialect: new PostgresDialect({ pool }) });
});

afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

function entries() {
  return db.selectFrom('entries as e').select(['e.label']);
}

/** Every page of the list, the way a client walks it: each cursor encoded, handed back, decoded. */
async function walk(sort: SortOrder, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const page: Page<{ label: string }> = await keysetPage(entries(), KEYS, { limit, sort, after: decodeCursor(cursor, sort) });
    pages.push(page.rows.map((row) => row.label));
    cursor = page.next && encodeCursor(page.next, sort);
  } while (cursor !== undefined && pages.length < 20);
  return pages;
}

describe('keysetPage', () => {
  it('orders by time, then id, and walks every row once through ties on the time', async () => {
    expect(await walk('asc', 2)).toEqual([['a', 'c'], ['b', 'd'], ['e', 'f'], ['g']]);
    expect(await walk('desc', 2)).toEqual([['g', 'f'], ['e', 'd'], ['b', 'c'], ['a']]);
  });

  it('keeps positions to the microsecond: one row a page never repeats or skips a row of the same millisecond', async () => {
    expect((await walk('asc', 1)).flat()).toEqual(OLDEST_FIRST);
    expect((await walk('desc', 1)).flat()).toEqual([...OLDEST_FIRST].reverse());
  });

  it('names the last row of a full page as the next position, in microseconds', async () => {
    const page = await keysetPage(entries(), KEYS, { limit: 4, sort: 'asc' });
    expect(page.next).toEqual({ at: '2026-01-01T10:00:00.000001Z', id: '01900000-0000-7000-8000-000000000004' });
  });

  it('has no next position on a last page that is exactly full', async () => {
    const whole = await keysetPage(entries(), KEYS, { limit: ENTRIES.length, sort: 'desc' });
    expect(whole.rows).toHaveLength(ENTRIES.length);
    expect(whole.next).toBeUndefined();
    const first = await keysetPage(entries(), KEYS, { limit: 3, sort: 'asc' });
    expect(first.next).toBeDefined();
    const last = await keysetPage(entries(), KEYS, { limit: 4, sort: 'asc', after: first.next });
    expect(last).toEqual({ rows: [{ label: 'd' }, { label: 'e' }, { label: 'f' }, { label: 'g' }], next: undefined });
  });

  it('returns an empty page with no next position after the last row, and for a query that finds nothing', async () => {
    const afterLast = { at: '2026-01-03T00:00:00.000000Z', id: '01900000-0000-7000-8000-000000000007' };
    expect(await keysetPage(entries(), KEYS, { limit: 10, sort: 'asc', after: afterLast })).toEqual({ rows: [], next: undefined });
    const archived = entries().where('e.archived_at', 'is not', null);
    expect(await keysetPage(archived, KEYS, { limit: 10, sort: 'desc' })).toEqual({ rows: [], next: undefined });
  });

  it('returns the rows as the query selected them, without the position columns', async () => {
    const page = await keysetPage(db.selectFrom('entries').select(['id', 'label']), { at: 'created_at', id: 'id' }, { limit: 1, sort: 'desc' });
    expect(page.rows).toEqual([{ id: '01900000-0000-7000-8000-000000000007', label: 'g' }]);
  });

  it('reads the position from the key columns a query selects, or renames, or selects with selectAll, to the microsecond', async () => {
    const queries = [
      (request: PageRequest) => keysetPage(db.selectFrom('entries as e').select(['e.id', 'e.label', 'e.created_at']), KEYS, request),
      (request: PageRequest) => keysetPage(db.selectFrom('entries as e').select(['e.id as entryId', 'e.label', 'e.created_at as at']), KEYS, request),
      (request: PageRequest) => keysetPage(db.selectFrom('entries').selectAll(), { at: 'created_at', id: 'id' }, request),
      (request: PageRequest) => keysetPage(db.selectFrom('entries as e').selectAll('e'), KEYS, request),
    ];
    for (const [index, query] of queries.entries()) {
      for (const sort of ['asc', 'desc'] as const) {
        const labels: string[] = [];
        let after: PageRequest['after'];
        do {
          const page: Page<{ label: string }> = await query({ limit: 1, sort, after });
          labels.push(...page.rows.map((row) => row.label));
          after = page.next;
        } while (after && labels.length < 20);
        expect(labels, `query ${index} ${sort}`).toEqual(sort === 'asc' ? OLDEST_FIRST : [...OLDEST_FIRST].reverse());
      }
    }
    const page = await queries[1]!({ limit: 3, sort: 'asc' });
    expect(page.rows[2]).toEqual({ entryId: '01900000-0000-7000-8000-000000000003', label: 'b', at: new Date('2026-01-01T10:00:00.000Z') });
    expect(page.next).toEqual({ at: '2026-01-01T10:00:00.000000Z', id: '01900000-0000-7000-8000-000000000003' });
  });

  it('keeps microseconds in any session time zone', async () => {
    const client = await pool.connect();
    try {
      await client.query(`SET TimeZone = 'America/St_Johns'`);
      // One connection, handed to Kysely as a pool that never lets it go.
      const session = { query: client.query.bind(client), release: () => {} };
      const zoned = new Kysely<EntriesTables>({ dialect: new PostgresDialect({ pool: { connect: async () => session, end: async () => {} } as unknown as pg.Pool }) });
      const page = await keysetPage(zoned.selectFrom('entries as e').select(['e.id', 'e.label', 'e.created_at']), KEYS, { limit: 4, sort: 'asc' });
      expect(page.next).toEqual({ at: '2026-01-01T10:00:00.000001Z', id: '01900000-0000-7000-8000-000000000004' });
    } finally {
      await client.query('RESET TimeZone');
      client.release();
    }
  });

  it('refuses to page with a time read by a pool that drops microseconds, rather than skip rows', async () => {
    const plain = new Kysely<EntriesTables>({ dialect: new PostgresDialect({ pool: database.admin }) });
    await expect(keysetPage(entries().select('e.created_at'), KEYS, { limit: 1, sort: 'asc' })).resolves.toBeDefined();
    await expect(keysetPage(plain.selectFrom('entries as e').select(['e.label']), KEYS, { limit: 1, sort: 'asc' })).rejects.toThrow(/poolTypes/);
  });
});

describe('keysetPageQuery', () => {
  it('orders by both keys, bounds the time for the index, breaks ties by the row and fetches one row more than the limit', () => {
    const request: PageRequest = { limit: 2, sort: 'desc', after: { at: '2026-01-02T00:00:00.000000Z', id: '01900000-0000-7000-8000-000000000006' } };
    const query = keysetPageQuery(entries(), KEYS, request).compile();
    expect(query.sql.replace(/\s+/g, ' ')).toBe(
      'select "e"."label", "e"."created_at" as "page_at", "e"."id" as "page_id" ' +
        'from "entries" as "e" ' +
        'where ("e"."created_at" <= $1::timestamptz AND ("e"."created_at", "e"."id") < ($2::timestamptz, $3::uuid)) ' +
        'order by "e"."created_at" desc, "e"."id" desc limit $4',
    );
    expect(query.parameters).toEqual([request.after!.at, request.after!.at, request.after!.id, 3]);
  });

  it('selects the keys again only when the rows would not carry them under their own names', () => {
    function extra<DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>): boolean {
      return /page_at/.test(keysetPageQuery(query, KEYS as unknown as PageKeys<DB, TB>, { limit: 1, sort: 'asc' }).compile().sql);
    }
    expect(extra(db.selectFrom('entries as e').select(['e.id', 'e.created_at', 'e.label']))).toBe(false);
    expect(extra(db.selectFrom('entries as e').select(['id', 'created_at']))).toBe(false);
    expect(extra(db.selectFrom('entries as e').selectAll())).toBe(false);
    expect(extra(db.selectFrom('entries as e').selectAll('e'))).toBe(false);
    // Renamed, left out, or a name something else could also take: selected again.
    expect(extra(db.selectFrom('entries as e').select(['e.id', 'e.created_at as at']))).toBe(true);
    expect(extra(db.selectFrom('entries as e').select(['e.id']))).toBe(true);
    expect(extra(db.selectFrom('entries as e').select(['e.id', 'e.created_at', 'e.archived_at as created_at']))).toBe(true);
    expect(extra(db.selectFrom('entries as e').selectAll().select('e.created_at'))).toBe(true);
    expect(extra(db.selectFrom('entries as e').innerJoin('entries as f', 'f.id', 'e.id').selectAll())).toBe(true);
  });

  it('takes only a non-null time column and a non-null id column as keys (checked by tsc)', () => {
    const keys = (k: PageKeys<EntriesTables, 'entries'>) => k;
    // @ts-expect-error a nullable time sorts outside every position
    keys({ at: 'archived_at', id: 'id' });
    // @ts-expect-error the time key must be a time
    keys({ at: 'label', id: 'id' });
    // @ts-expect-error the id key must be text (a uuid), not a time
    keys({ at: 'created_at', id: 'created_at' });
    expect(keys({ at: 'created_at', id: 'id' })).toEqual({ at: 'created_at', id: 'id' });
  });
});

describe('cursors over HTTP', () => {
  it('refuses a cursor of a list in the other order, as every list route does', async () => {
    const page = await keysetPage(entries(), KEYS, { limit: 1, sort: 'desc' });
    const cursor = encodeCursor(page.next!, 'desc');
    expect(decodeCursor(cursor, 'desc')).toEqual(page.next);
    expect(() => decodeCursor(cursor, 'asc')).toThrow(AppError);
    expect(() => decodeCursor(cursor, 'asc')).toThrow(expect.objectContaining({ code: 'validation-failed' }));
  });
});
