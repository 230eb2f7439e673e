// The per-tenant slice of configuration (plan, settings, branding, flag overrides), loaded
// in one unit of work and cached per process under the tenant's id: an entry is only ever
// filled by a load scoped to that same tenant, and evicted by that tenant's changes.

import type { Database, Tx } from '../db/database.js';
import { currentContext, runWithContext } from '../tenancy/context.js';
import type { CacheInvalidation } from './cache-invalidation.js';
import { TtlCache } from './ttl-cache.js';

export interface TenantProfile {
  readonly tenantId: string;
  readonly name: string;
  readonly plan: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly branding: Readonly<Record<string, unknown>>;
  /** flag key -> the tenant's own value. */
  readonly overrides: ReadonlyMap<string, unknown>;
}

export type TenantProfileLoader = (tenantId: string) => Promise<TenantProfile | null>;

async function readProfile(tx: Tx, tenantId: string): Promise<TenantProfile | null> {
  const tenant = await tx
    .selectFrom('tenants')
    .select(['name', 'plan', 'settings', 'branding'])
    .where('id', '=', tenantId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!tenant) return null;
  const overrides = await tx.selectFrom('flag_overrides').select(['flag_key', 'value']).where('deleted_at', 'is', null).execute();
  return {
    tenantId,
    name: tenant.name,
    plan: tenant.plan,
    settings: tenant.settings,
    branding: tenant.branding,
    overrides: new Map(overrides.map((row) => [row.flag_key, row.value])),
  };
}

/** Loads through db.tenant() in the named tenant's scope, so both isolation layers apply. */
export function databaseProfileLoader(db: Database): TenantProfileLoader {
  return (tenantId) =>
    runWithContext({ ...currentContext(), requestId: currentContext()?.requestId ?? 'cache-load', tenantId }, () =>
      db.tenant((tx) => readProfile(tx, tenantId)),
    );
}

export class TenantProfiles {
  readonly #cache: TtlCache<string, TenantProfile | null>;
  readonly #load: TenantProfileLoader;

  constructor(load: TenantProfileLoader, invalidation: CacheInvalidation | undefined, ttlMs: () => number) {
    this.#load = load;
    this.#cache = new TtlCache({ ttlMs });
    invalidation?.subscribe((event) => {
      if (event === 'all') this.#cache.clear();
      else if (event.scope === 'tenant') this.#cache.invalidate(event.tenantId);
    });
  }

  peek(tenantId: string): TenantProfile | null | undefined {
    return this.#cache.peek(tenantId);
  }

  /** The tenant's profile, or null when the tenant does not exist (or is deleted). */
  get(tenantId: string): Promise<TenantProfile | null> {
    return this.#cache.get(tenantId, () => this.#load(tenantId));
  }
}
