// The tenant registry: lookups used by resolution and provisioning. Resolution reads
// tenant_registry (id, slug, subdomain and status of every live tenant); the tenants table
// itself shows a unit only its own tenant (and, outside a tenant, the user's own tenants).

import type { Tx } from '../db/database.js';
import { isUuid } from '../db/ids.js';
import type { NewTenant, Tenant, TenantRegistryEntry } from '../db/tables.js';


/** Finds a live tenant by id or slug (X-Tenant-ID accepts either). */
export function findLiveTenant(tx: Tx, idOrSlug: string): Promise<TenantRegistryEntry | undefined> {
  return tx
    .selectFrom('tenant_registry')
    .select(['id', 'slug', 'subdomain', 'status'])
    .where(isUuid(idOrSlug) ? 'id' : 'slug', '=', idOrSlug.toLowerCase())
    .executeTakeFirst();
}

export function findLiveTenantBySubdomain(tx: Tx, subdomain: string): Promise<TenantRegistryEntry | undefined> {
  return tx
    .selectFrom('tenant_registry')
    .select(['id', 'slug', 'subdomain', 'status'])
    .where('subdomain', '=', subdomain.toLowerCase())
    .executeTakeFirst();
}

export function insertTenant(tx: Tx, tenant: NewTenant): Promise<Tenant> {
  return tx.insertInto('tenants').values(tenant).returningAll().executeTakeFirstOrThrow();
}
