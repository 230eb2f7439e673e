// Request and response schemas of POST /v1/tenants (sign-up) and POST /v1/tenants/confirm.

import { Type } from 'typebox';
import { Email, Password, Text, Uuid } from '../../http/common-schemas.js';
import { UserView } from '../../accounts/user-view.js';
import { TenantView } from '../tenant-view.js';

export const CreateTenantBody = Type.Object(
  {
    name: Text({ minLength: 1, maxLength: 200 }),
    slug: Text({ minLength: 3, maxLength: 63 }),
    subdomain: Type.Optional(Text({ minLength: 3, maxLength: 63 })),
    plan: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_]{1,39}$', description: 'Key of a plan from GET /v1/plans (not a retired one); free by default' })),
    owner: Type.Object(
      {
        email: Email,
        password: Password,
        name: Text({ minLength: 1, maxLength: 200 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export const CreatedTenant = Type.Object({
  tenant: TenantView,
  owner: UserView,
  apiKey: Type.Object({
    id: Uuid,
    name: Type.String(),
    prefix: Type.String(),
    key: Type.String({ description: 'Shown once; only its hash is stored' }),
  }),
  accessToken: Type.String(),
  refreshToken: Type.String(),
  expiresIn: Type.Integer(),
  tokenType: Type.Literal('Bearer'),
});

export const SignUpAccepted = Type.Object({
  status: Type.Literal('accepted'),
  detail: Type.String(),
});

export const ConfirmSignUpBody = Type.Object(
  {
    token: Text({ minLength: 1, maxLength: 512, description: 'The token from the emailed sign-up link' }),
    password: Text({ minLength: 1, maxLength: 256, description: "The password chosen at sign-up, or the existing account's current password" }),
  },
  { additionalProperties: false },
);
