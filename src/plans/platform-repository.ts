// Reads the platform data (plans, flag definitions, plan defaults) in one unit of work.
// The app role may read these tables; only the service role writes them.

import type { Selectable } from 'kysely';
import type { Tx } from '../db/database.js';
import type { PlansTable } from '../db/tables.js';
import { flagDefinitionFromRow, type FlagDefinition } from '../flags/flag.js';
import type { Plan } from './plan.js';

export interface PlatformData {
  readonly plans: readonly Plan[];
  readonly flags: readonly FlagDefinition[];
  readonly planDefaults: readonly { readonly flagKey: string; readonly planKey: string; readonly value: unknown }[];
}

/** A row of `plans` as the rest of Tenantry sees it. */
export function planFromRow(row: Selectable<PlansTable>): Plan {
  return {
    key: row.key,
    name: row.name,
    monthlyPriceCents: row.monthly_price_cents,
    limits: row.limits,
    apiRateLimitPerMinute: row.api_rate_limit_per_minute,
    settings: row.settings,
    sortOrder: row.sort_order,
    meteredPrices: Object.fromEntries(
      Object.entries(row.metered_prices).map(([metric, price]) => [metric, { included: price.included, unitPriceMillicents: price.unit_price_millicents }]),
    ),
    retiredAt: row.retired_at,
  };
}

export async function readPlatformData(tx: Tx): Promise<PlatformData> {
  const plans = await tx.selectFrom('plans').selectAll().orderBy('sort_order').orderBy('key').execute();
  const flags = await tx.selectFrom('flag_definitions').selectAll().orderBy('key').execute();
  const defaults = await tx.selectFrom('flag_plan_defaults').select(['flag_key', 'plan_key', 'value']).execute();
  return {
    plans: plans.map(planFromRow),
    flags: flags.map(flagDefinitionFromRow),
    planDefaults: defaults.map((row) => ({ flagKey: row.flag_key, planKey: row.plan_key, value: row.value })),
  };
}
