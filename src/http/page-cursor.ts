// The cursor of a keyset page over HTTP: where the previous page stopped (db/keyset-page.ts),
// as opaque base64url text the client hands back unchanged; anything else is a 400.

import { isUuid } from '../db/ids.js';
import type { PagePosition, SortOrder } from '../db/keyset-page.js';
import { isInstant } from './instant.js';
import { AppError } from './problems.js';

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
