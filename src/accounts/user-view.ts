// How a user is shown over the API. The password hash and other internal columns never
// leave through this shape.

import { Type, type Static } from 'typebox';
import type { UserAccount } from '../db/tables.js';
import { Timestamp, Uuid } from '../http/common-schemas.js';

export const UserView = Type.Object({
  id: Uuid,
  email: Type.String(),
  name: Type.String(),
  status: Type.String(),
  createdAt: Timestamp,
});

export function userView(user: UserAccount): Static<typeof UserView> {
  return { id: user.id, email: user.email, name: user.name, status: user.status, createdAt: user.created_at.toISOString() };
}
