// Keyset pagination over (created_at, id): an opaque base64url cursor names the last row
// seen, so pages stay stable while rows are added, and no page costs an OFFSET scan.

import { sql, type RawBuilder } from 'kysely';
import { isInstant } from '../../http/instant.js';
import { AppError } from '../../http/problems.js';

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
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
  if (typeof at !== 'string' || !AT.test(at) || !isInstant(at) || typeof id !== 'string' || !UUID.test(id) || order !== sort) {
    throw invalidCursor();
  }
  return { at, id };
}

/**
 * created_at as UTC text with microseconds: a JavaScript Date keeps only milliseconds,
 * and a cursor rounded to milliseconds would repeat or skip rows created in the same one.
 */
export const cursorAt: RawBuilder<string> = sql<string>`to_char(${sql.ref('created_at')} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * Rows strictly after the position in the sort order. The plain created_at bound lets the
 * (tenant_id, created_at) index start the scan at the cursor; the row comparison breaks ties.
 */
export function afterPosition(position: PagePosition, sort: SortOrder): RawBuilder<boolean> {
  const op = sql.raw(sort === 'desc' ? '<' : '>');
  const bound = sql.raw(sort === 'desc' ? '<=' : '>=');
  return sql<boolean>`(${sql.ref('created_at')} ${bound} ${position.at}::timestamptz
    AND (${sql.ref('created_at')}, ${sql.ref('id')}) ${op} (${position.at}::timestamptz, ${position.id}::uuid))`;
}

/** Splits the limit + 1 rows a query fetched into one page and the position of its last row. */
export function toPage<T extends { id: string; cursor_at: string }>(rows: T[], limit: number): Page<T> {
  if (rows.length <= limit) return { rows, next: undefined };
  const page = rows.slice(0, limit);
  const last = page[page.length - 1]!;
  return { rows: page, next: { at: last.cursor_at, id: last.id } };
}
