// How a tenant and a user are shown over the API. Internal columns (hashes, settings
// internals) never leave through these shapes.

import { Type, type Static } from 'typebox';
import type { Tenant, UserAccount } from '../db/tables.js';
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

export const UserView = Type.Object({
  id: Uuid,
  email: Type.String(),
  name: Type.String(),
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

export function userView(user: UserAccount): Static<typeof UserView> {
  return { id: user.id, email: user.email, name: user.name, status: user.status, createdAt: user.created_at.toISOString() };
}
