// The tenant registry: lookups used by resolution and provisioning. Tenants are readable
// by the app role (resolution must find them), but only writable inside their own scope.

import type { Tx } from '../db/database.js';
import type { NewTenant, Tenant } from '../db/tables.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Finds a live tenant by id or slug (X-Tenant-ID accepts either). */
export function findLiveTenant(tx: Tx, idOrSlug: string): Promise<Tenant | undefined> {
  return tx
    .selectFrom('tenants')
    .selectAll()
    .where(isUuid(idOrSlug) ? 'id' : 'slug', '=', idOrSlug.toLowerCase())
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export function findLiveTenantBySubdomain(tx: Tx, subdomain: string): Promise<Tenant | undefined> {
  return tx
    .selectFrom('tenants')
    .selectAll()
    .where('subdomain', '=', subdomain.toLowerCase())
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export function insertTenant(tx: Tx, tenant: NewTenant): Promise<Tenant> {
  return tx.insertInto('tenants').values(tenant).returningAll().executeTakeFirstOrThrow();
}
