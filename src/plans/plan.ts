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
  /**
   * Metered billing, per metric: what a billing period includes and the price of each unit
   * beyond it in thousandths of a cent. A metric not listed is not billed by usage.
   */
  readonly meteredPrices: Readonly<Record<string, MeteredPrice>>;
  /** Set when the operator retired the plan: tenants on it keep it; nobody new may choose it. */
  readonly retiredAt?: Date | null | undefined;
}

export interface MeteredPrice {
  readonly included: number;
  readonly unitPriceMillicents: number;
}

export class UnknownPlanError extends Error {
  override name = 'UnknownPlanError';
  constructor(readonly planKey: string) {
    super(`no plan "${planKey}" in the catalog`);
  }
}
