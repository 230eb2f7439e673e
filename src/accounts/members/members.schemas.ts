// Request and response schemas of /v1/members and /v1/invitations.

import { Type } from 'typebox';
import { Email, RoleSchema, Timestamp, Uuid } from '../../http/common-schemas.js';

export const MemberView = Type.Object({
  userId: Uuid,
  email: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  status: Type.String({ description: "The user's status: active (or disabled)" }),
  joinedAt: Timestamp,
});

export const InviteMemberBody = Type.Object({ email: Email, role: RoleSchema }, { additionalProperties: false });

/** The same shape whether or not an account has the email: inviting discloses nothing about accounts. */
export const IssuedInvitationView = Type.Object({
  invitationId: Uuid,
  email: Type.String(),
  role: RoleSchema,
  status: Type.Literal('invited'),
  expiresAt: Timestamp,
  invitationToken: Type.String({ description: 'Shown once: give it to the invitee, who redeems it at /v1/auth/accept-invitation' }),
});

export const InvitationView = Type.Object({
  invitationId: Uuid,
  email: Type.String(),
  role: RoleSchema,
  status: Type.Literal('invited'),
  invitedBy: Type.Union([Uuid, Type.Null()]),
  createdAt: Timestamp,
  expiresAt: Timestamp,
});

export const ChangeRoleBody = Type.Object({ role: RoleSchema }, { additionalProperties: false });
