// Request and response schemas of /v1/members.

import { Type } from 'typebox';
import { Email, RoleSchema, Timestamp, Uuid } from '../../http/common-schemas.js';

export const MemberView = Type.Object({
  userId: Uuid,
  email: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  status: Type.String({ description: 'active, or invited until the invitation is accepted' }),
  joinedAt: Timestamp,
});

export const AddMemberBody = Type.Object({ email: Email, role: RoleSchema }, { additionalProperties: false });

export const AddedMemberView = Type.Object({
  ...MemberView.properties,
  invitationToken: Type.Optional(Type.String({ description: 'For a new user: shown once, redeem at /v1/auth/accept-invitation' })),
});

export const ChangeRoleBody = Type.Object({ role: RoleSchema }, { additionalProperties: false });
