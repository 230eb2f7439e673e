// Request and response schemas of signing in (login, switch-tenant, accept-invitation) and /v1/me.

import { Type } from 'typebox';
import { Email, Password, RoleSchema, Text, Uuid } from '../http/common-schemas.js';
import { UserView } from './user-view.js';

export const LoginBody = Type.Object(
  {
    email: Email,
    password: Text({ minLength: 1, maxLength: 256 }),
    tenant: Type.Optional(Text({ minLength: 1, maxLength: 63, description: 'Tenant id or slug' })),
  },
  { additionalProperties: false },
);

export const SwitchTenantBody = Type.Object(
  { tenant: Text({ minLength: 1, maxLength: 63, description: 'Tenant id or slug' }) },
  { additionalProperties: false },
);

export const AcceptInvitationBody = Type.Object(
  {
    token: Text({ minLength: 1, maxLength: 512 }),
    name: Type.Optional(Text({ minLength: 1, maxLength: 200, description: 'Required when no account has the invited email' })),
    /** Required when no account has the invited email. */
    password: Type.Optional(Password),
  },
  { additionalProperties: false },
);

export const MembershipView = Type.Object({
  tenantId: Uuid,
  slug: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  status: Type.String(),
});

export const MeView = Type.Object({
  user: UserView,
  activeTenantId: Type.Union([Uuid, Type.Null()]),
  memberships: Type.Array(MembershipView),
});
