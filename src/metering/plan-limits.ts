// What metering needs to know about plans: a metric's limit and the API rate limit, read
// from the plan catalog (src/plans) through this narrow view, so metering never copies it.
// Callers inside a unit of work pass its `tx`, so a stale catalog is read through it.

import type { Tx } from '../db/database.js';

export interface PlanLimits {
  /** The plan's limit for a metric; null: unlimited. */
  limitFor(planKey: string, metric: string, tx?: Tx): Promise<number | null> | number | null;
  /** Requests per minute; null: unlimited. */
  rateLimitFor(planKey: string): Promise<number | null> | number | null;
  /** The first plan (in upgrade order) whose limit for the metric admits `amount`. */
  requiredPlanFor?(metric: string, amount: number, tx?: Tx): Promise<string | null> | string | null;
}

/** The part of the plan catalog (src/plans/plans.ts) metering reads. */
export interface PlanCatalogView {
  /** Cheapest first. */
  list(tx?: Tx): Promise<readonly CatalogPlan[]>;
  find(planKey: string, tx?: Tx): Promise<CatalogPlan | undefined>;
}

export interface CatalogPlan {
  readonly key: string;
  readonly limits: Readonly<Record<string, number | null>>;
  readonly apiRateLimitPerMinute: number | null;
}

/**
 * Limits of Tenantry's own metrics as the catalog sets them. A metric the catalog does not
 * name is not limited here (the catalog's own reading is "not included"): quotas must not
 * switch off tasks or API calls that no plan has priced yet. A tenant on a plan the catalog
 * lacks gets the cheapest plan's limits, never none.
 */
export function planLimitsFrom(catalog: PlanCatalogView): PlanLimits {
  const planOf = async (planKey: string, tx?: Tx): Promise<CatalogPlan | undefined> =>
    (await catalog.find(planKey, tx)) ?? (await catalog.list(tx))[0];
  const limitIn = (plan: CatalogPlan | undefined, metric: string): number | null =>
    plan && Object.hasOwn(plan.limits, metric) ? (plan.limits[metric] ?? null) : null;
  return {
    async limitFor(planKey, metric, tx) {
      return limitIn(await planOf(planKey, tx), metric);
    },
    async rateLimitFor(planKey) {
      const plan = await planOf(planKey);
      return plan ? plan.apiRateLimitPerMinute : null;
    },
    async requiredPlanFor(metric, amount, tx) {
      for (const plan of await catalog.list(tx)) {
        const limit = limitIn(plan, metric);
        if (limit === null || limit >= amount) return plan.key;
      }
      return null;
    },
  };
}
