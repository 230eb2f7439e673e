// Request schema of PATCH /v1/tenant: the tenant's name (owners and admins) and subdomain
// (owners only), with the shapes sign-up accepts.

import { Type } from 'typebox';
import { Text } from '../../http/common-schemas.js';

export const UpdateTenantBody = Type.Object(
  {
    name: Type.Optional(Text({ minLength: 1, maxLength: 200 })),
    subdomain: Type.Optional(Type.Union([Text({ minLength: 3, maxLength: 63 }), Type.Null()], { description: 'Owner only; null removes it' })),
  },
  { additionalProperties: false, minProperties: 1 },
);
