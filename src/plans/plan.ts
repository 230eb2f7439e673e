// A plan of the catalog as the rest of Tenantry sees it. `null` in limits and in the rate
// limit means unlimited, and nothing else does.

export interface Plan {
  readonly key: string;
  readonly name: string;
  /** null: custom price (talk to sales). */
  readonly monthlyPriceCents: number | null;
  /** Per metric: the most allowed, or null for unlimited. */
  readonly limits: Readonly<Record<string, number | null>>;
  /** Requests per minute, or null for unlimited. */
  readonly apiRateLimitPerMinute: number | null;
  /** Setting defaults of this plan, between the global defaults and the tenant's own. */
  readonly settings: Readonly<Record<string, unknown>>;
  readonly sortOrder: number;
}

export class UnknownPlanError extends Error {
  override name = 'UnknownPlanError';
  constructor(readonly planKey: string) {
    super(`no plan "${planKey}" in the catalog`);
  }
}
