// The platform data every evaluation needs, indexed for lookups and cached per process.
// Any platform change (from any instance) drops the snapshot; the next reader reloads it,
// through its own transaction when it is inside a unit of work.

import type { CacheInvalidation } from '../cache/cache-invalidation.js';
import { TtlCache } from '../cache/ttl-cache.js';
import type { Tx } from '../db/database.js';
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

/** Reads the platform data: through `tx` when given, else in a unit of work of its own. */
export type PlatformDataLoader = (tx?: Tx) => Promise<PlatformData>;

export class PlatformCatalog {
  readonly #cache: TtlCache<typeof KEY, PlatformSnapshot>;
  readonly #load: PlatformDataLoader;

  constructor(load: PlatformDataLoader, invalidation: CacheInvalidation | undefined, ttlMs: () => number) {
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

  /**
   * The snapshot, loaded when stale. Inside a unit of work pass its `tx`: a stale snapshot is
   * then read through that transaction, never through a second connection.
   */
  snapshot(tx?: Tx): Promise<PlatformSnapshot> {
    if (!tx) return this.#cache.get(KEY, async () => indexPlatformData(await this.#load()));
    const fresh = this.#cache.peek(KEY);
    return fresh ? Promise.resolve(fresh) : this.#cache.fill(KEY, async () => indexPlatformData(await this.#load(tx)));
  }
}
