// Request and response schemas of DELETE /v1/tenant.

import { Type } from 'typebox';
import { Text, Timestamp, Uuid } from '../../http/common-schemas.js';

export const DeleteTenantBody = Type.Object(
  { confirm: Text({ minLength: 1, maxLength: 63, description: "The tenant's slug, repeated to confirm" }) },
  { additionalProperties: false },
);

export const DeletedTenantView = Type.Object({
  id: Uuid,
  slug: Type.String(),
  status: Type.Literal('deleted'),
  deletedAt: Timestamp,
  purgeAfter: Type.String({ format: 'date-time', description: 'After this the tenant and its data are removed for good' }),
});
