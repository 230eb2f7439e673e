// Query fields and response fields of every cursor-paginated list in the task domain, so
// projects and tasks page the same way.

import { Type } from 'typebox';
import { Text } from '../../http/common-schemas.js';

/** Checked in full when decoded (page-cursor.ts); the schema only bounds it. */
export const Cursor = Type.Optional(Text({ maxLength: 200, description: 'nextCursor of the previous page, unchanged' }));

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Rows per page' })),
  cursor: Cursor,
  sort: Type.Optional(Type.Union([Type.Literal('desc'), Type.Literal('asc')], { default: 'desc', description: 'By creation time' })),
};

export const NextCursor = Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' });
