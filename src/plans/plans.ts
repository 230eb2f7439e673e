// The plan catalog for the rest of Tenantry: limits per metric and API rate limits, read
// from the cached platform snapshot (no database round trip once warm).
//
// Stable API (metering, quotas and rate limits call it):
//   plans.limitFor(planKey, metric) -> number | null   null = unlimited; 0 = not included
//   plans.rateLimitFor(planKey)     -> number | null   requests per minute; null = unlimited
// Both throw UnknownPlanError for a plan key that is not in the catalog. A metric the plan
// does not name has limit 0: a new metric is off until the catalog grants it. Inside a unit
// of work, pass its `tx` last: a stale catalog is then read through it (one connection per unit).

import type { Tx } from '../db/database.js';
import { UnknownPlanError, type Plan } from './plan.js';
import type { PlatformCatalog } from './platform-catalog.js';

export class Plans {
  readonly #catalog: PlatformCatalog;

  constructor(catalog: PlatformCatalog) {
    this.#catalog = catalog;
  }

  /** Every plan, cheapest first. */
  async list(tx?: Tx): Promise<readonly Plan[]> {
    return (await this.#catalog.snapshot(tx)).plans;
  }

  async find(planKey: string, tx?: Tx): Promise<Plan | undefined> {
    const snapshot = this.#catalog.peek() ?? (await this.#catalog.snapshot(tx));
    return snapshot.planByKey.get(planKey);
  }

  async get(planKey: string, tx?: Tx): Promise<Plan> {
    const plan = await this.find(planKey, tx);
    if (!plan) throw new UnknownPlanError(planKey);
    return plan;
  }

  /**
   * The most of `metric` the plan allows: a number, or null for unlimited.
   *
   * @example
   *   const limit = await plans.limitFor(actorOf(request).plan, 'tasks');
   *   if (limit !== null && used >= limit) throw quotaExceeded(limit, used);
   */
  async limitFor(planKey: string, metric: string, tx?: Tx): Promise<number | null> {
    const plan = await this.get(planKey, tx);
    return Object.hasOwn(plan.limits, metric) ? (plan.limits[metric] ?? null) : 0;
  }

  /**
   * API requests per minute the plan allows, or null for unlimited.
   *
   * @example
   *   const perMinute = await plans.rateLimitFor(actorOf(request).plan);
   */
  async rateLimitFor(planKey: string, tx?: Tx): Promise<number | null> {
    return (await this.get(planKey, tx)).apiRateLimitPerMinute;
  }
}
