// Query fields and response fields of every cursor-paginated list in the task domain, so
// projects and tasks page the same way.

import { Type } from 'typebox';

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Rows per page' })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'nextCursor of the previous page, unchanged' })),
  sort: Type.Optional(Type.Union([Type.Literal('desc'), Type.Literal('asc')], { default: 'desc', description: 'By creation time' })),
};

export const NextCursor = Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' });
