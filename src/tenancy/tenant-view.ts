// How a tenant is shown over the API. Internal columns (settings internals) never leave
// through this shape.

import { Type, type Static } from 'typebox';
import type { Tenant } from '../db/tables.js';
import { Timestamp, Uuid } from '../http/common-schemas.js';

export const TenantView = Type.Object({
  id: Uuid,
  name: Type.String(),
  slug: Type.String(),
  subdomain: Type.Union([Type.String(), Type.Null()]),
  plan: Type.String(),
  status: Type.String(),
  createdAt: Timestamp,
});

export function tenantView(tenant: Tenant): Static<typeof TenantView> {
  return {
    id: tenant.id,
    name: tenant.name,
    slug: tenant.slug,
    subdomain: tenant.subdomain,
    plan: tenant.plan,
    status: tenant.status,
    createdAt: tenant.created_at.toISOString(),
  };
}
