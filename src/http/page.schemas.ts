// Query fields and response fields of every list route, so all of them page the same way:
// ?cursor=&limit= in, { data, nextCursor } out (keyset pages, see page-cursor.ts).

import { Type, type TSchema } from 'typebox';
import { Text } from './common-schemas.js';

/** Checked in full when decoded (page-cursor.ts); the schema only bounds it. */
export const Cursor = Type.Optional(Text({ maxLength: 200, description: 'nextCursor of the previous page, unchanged' }));

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Rows per page' })),
  cursor: Cursor,
  sort: Type.Optional(Type.Union([Type.Literal('desc'), Type.Literal('asc')], { default: 'desc', description: 'By creation time' })),
};

export const NextCursor = Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' });

/** ?cursor=&limit= of a list in a fixed order. */
export const FixedOrderPageQuery = { limit: PageQuery.limit, cursor: Cursor };

/** The answer of every list route. */
export function PageOf<T extends TSchema>(item: T) {
  return Type.Object({ data: Type.Array(item), nextCursor: NextCursor });
}
