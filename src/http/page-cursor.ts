// Keyset pagination over (created_at, id): an opaque base64url cursor names the last row
// seen, so pages stay stable while rows are added, and no page costs an OFFSET scan.

import { sql, type RawBuilder } from 'kysely';
import { isUuid } from '../db/ids.js';
import { isInstant } from './instant.js';
import { AppError } from './problems.js';

export type SortOrder = 'asc' | 'desc';

/** Where the previous page stopped: created_at at full microsecond precision, and the id. */
export interface PagePosition {
  readonly at: string;
  readonly id: string;
}

export interface PageRequest {
  readonly limit: number;
  readonly sort: SortOrder;
  readonly after?: PagePosition | undefined;
}

export interface Page<T> {
  readonly rows: T[];
  readonly next: PagePosition | undefined;
}

const AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function invalidCursor(): AppError {
  return new AppError('validation-failed', 'cursor is not valid; pass nextCursor from the previous page unchanged', {
    errors: [{ field: 'querystring.cursor', message: 'is not a cursor of this list and sort order' }],
  });
}

/** The cursor carries its sort order, so a cursor reused with the other order is refused, not misread. */
export function encodeCursor(position: PagePosition, sort: SortOrder): string {
  return Buffer.from(JSON.stringify([position.at, position.id, sort])).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, sort: SortOrder): PagePosition | undefined {
  if (cursor === undefined) return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!Array.isArray(decoded) || decoded.length !== 3) throw invalidCursor();
  const [at, id, order] = decoded as unknown[];
  // The shape alone lets month 13 or 30 February through, and PostgreSQL would refuse them.
  if (typeof at !== 'string' || !AT.test(at) || !isInstant(at) || !isUuid(id) || order !== sort) {
    throw invalidCursor();
  }
  return { at, id };
}

/** The two columns a list is ordered and paged by: a creation time and a unique id. */
export interface PageKeys {
  readonly at: string;
  readonly id: string;
}

const CREATED: PageKeys = { at: 'created_at', id: 'id' };

/**
 * The time column as UTC text with microseconds: a JavaScript Date keeps only milliseconds,
 * and a cursor rounded to milliseconds would repeat or skip rows created in the same one.
 */
export function cursorAtOf(column: string): RawBuilder<string> {
  return sql<string>`to_char(${sql.ref(column)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

export const cursorAt: RawBuilder<string> = cursorAtOf(CREATED.at);

/**
 * Rows strictly after the position in the sort order. The plain time bound lets the
 * (tenant_id, created_at) index start the scan at the cursor; the row comparison breaks ties.
 */
export function afterPosition(position: PagePosition, sort: SortOrder, keys: PageKeys = CREATED): RawBuilder<boolean> {
  const op = sql.raw(sort === 'desc' ? '<' : '>');
  const bound = sql.raw(sort === 'desc' ? '<=' : '>=');
  const [at, id] = [sql.ref(keys.at), sql.ref(keys.id)];
  return sql<boolean>`(${at} ${bound} ${position.at}::timestamptz
    AND (${at}, ${id}) ${op} (${position.at}::timestamptz, ${position.id}::uuid))`;
}

/** Splits the limit + 1 rows a query fetched into one page and the position of its last row. */
export function toPage<T extends { cursor_at: string }>(
  rows: T[],
  limit: number,
  idOf: (row: T) => string = (row) => (row as T & { id: string }).id,
): Page<T> {
  if (rows.length <= limit) return { rows, next: undefined };
  const page = rows.slice(0, limit);
  const last = page[page.length - 1]!;
  return { rows: page, next: { at: last.cursor_at, id: idOf(last) } };
}
