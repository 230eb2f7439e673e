// Schemas shared by several routes: identifiers, problem answers, pagination.
// Route-specific schemas live beside their routes.

import { Type, type Static } from 'typebox';

export const Uuid = Type.String({ format: 'uuid', description: 'UUIDv7 identifier' });
export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 320 });
export const RoleSchema = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member'), Type.Literal('viewer')]);
export const Timestamp = Type.String({ format: 'date-time' });
export const Password = Type.String({ minLength: 10, maxLength: 256, description: 'At least 10 characters' });

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    request_id: Type.Optional(Type.String()),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details' },
);

/** The error answers a route can give, for the OpenAPI document. */
export function problems(...statuses: number[]): Record<number, typeof Problem> {
  return Object.fromEntries(statuses.map((status) => [status, Problem]));
}

export const UserIdParams = Type.Object({ userId: Uuid }, { additionalProperties: false });
export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
export type IdParams = Static<typeof IdParams>;
