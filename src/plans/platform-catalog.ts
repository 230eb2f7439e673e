// The platform data every evaluation needs, indexed for lookups and cached per process.
// Any platform change (from any instance) drops the snapshot; the next reader reloads it.

import type { CacheInvalidation } from '../cache/cache-invalidation.js';
import { TtlCache } from '../cache/ttl-cache.js';
import type { FlagDefinition } from '../flags/flag.js';
import type { Plan } from './plan.js';
import type { PlatformData } from './platform-repository.js';

export interface PlatformSnapshot {
  /** Cheapest first (catalog sort order). */
  readonly plans: readonly Plan[];
  readonly planByKey: ReadonlyMap<string, Plan>;
  readonly flags: readonly FlagDefinition[];
  readonly flagByKey: ReadonlyMap<string, FlagDefinition>;
  /** plan key -> flag key -> value. */
  readonly planDefaults: ReadonlyMap<string, ReadonlyMap<string, unknown>>;
}

export function indexPlatformData(data: PlatformData): PlatformSnapshot {
  const planDefaults = new Map<string, Map<string, unknown>>();
  for (const { planKey, flagKey, value } of data.planDefaults) {
    let perPlan = planDefaults.get(planKey);
    if (!perPlan) planDefaults.set(planKey, (perPlan = new Map()));
    perPlan.set(flagKey, value);
  }
  return {
    plans: [...data.plans].sort((a, b) => a.sortOrder - b.sortOrder || a.key.localeCompare(b.key)),
    planByKey: new Map(data.plans.map((plan) => [plan.key, plan])),
    flags: data.flags,
    flagByKey: new Map(data.flags.map((flag) => [flag.key, flag])),
    planDefaults,
  };
}

const KEY = 'platform';

export class PlatformCatalog {
  readonly #cache: TtlCache<typeof KEY, PlatformSnapshot>;
  readonly #load: () => Promise<PlatformData>;

  constructor(load: () => Promise<PlatformData>, invalidation: CacheInvalidation | undefined, ttlMs: () => number) {
    this.#load = load;
    this.#cache = new TtlCache({ ttlMs });
    invalidation?.subscribe((event) => {
      if (event === 'all' || event.scope === 'platform') this.#cache.clear();
    });
  }

  /** The cached snapshot when fresh, else undefined (no I/O). */
  peek(): PlatformSnapshot | undefined {
    return this.#cache.peek(KEY);
  }

  snapshot(): Promise<PlatformSnapshot> {
    return this.#cache.get(KEY, async () => indexPlatformData(await this.#load()));
  }
}
