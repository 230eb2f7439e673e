// The per-tenant slice of configuration (plan, settings, branding, flag overrides), loaded
// in one unit of work and cached per process under the tenant's id: an entry is only ever
// filled by a load scoped to that same tenant, evicted by that tenant's changes (and its
// deletion), and never served under another tenant's id even if something mixed them up.

import type { Database, Tx } from '../db/database.js';
import { TenantScopeViolation } from '../db/tenant-scope-plugin.js';
import { enterTenant } from '../tenancy/enter-tenant.js';
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
    .select(['id', 'name', 'plan', 'settings', 'branding'])
    .where('id', '=', tenantId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!tenant) return null;
  const overrides = await tx.selectFrom('flag_overrides').select(['flag_key', 'value']).where('deleted_at', 'is', null).execute();
  return {
    // From the row, so the cache's check below compares what the database answered.
    tenantId: tenant.id,
    name: tenant.name,
    plan: tenant.plan,
    settings: tenant.settings,
    branding: tenant.branding,
    overrides: new Map(overrides.map((row) => [row.flag_key, row.value])),
  };
}

/** Loads through db.tenant() in the named tenant's scope, so both isolation layers apply. */
export function databaseProfileLoader(db: Database): TenantProfileLoader {
  return (tenantId) => enterTenant(tenantId, () => db.tenant((tx) => readProfile(tx, tenantId)));
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

  /** The cached profile while fresh (no I/O); an entry filed under the wrong tenant counts as a miss. */
  peek(tenantId: string): TenantProfile | null | undefined {
    const profile = this.#cache.peek(tenantId);
    if (profile === undefined || belongsTo(profile, tenantId)) return profile;
    this.#cache.invalidate(tenantId);
    return undefined;
  }

  /**
   * The tenant's profile, or null when the tenant does not exist (or is deleted). An entry
   * carrying another tenant's id is dropped and loaded again; a second one is refused.
   */
  async get(tenantId: string): Promise<TenantProfile | null> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const profile = await this.#cache.get(tenantId, () => this.#load(tenantId));
      if (belongsTo(profile, tenantId)) return profile;
      this.#cache.invalidate(tenantId);
    }
    throw new TenantScopeViolation(`the profile loaded for tenant ${tenantId} belongs to another tenant`);
  }
}

function belongsTo(profile: TenantProfile | null, tenantId: string): boolean {
  return profile === null || profile.tenantId === tenantId;
}
