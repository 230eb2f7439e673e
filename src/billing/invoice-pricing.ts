// What a period costs: the plan's monthly price, plus, for each metered metric, every unit past
// what the plan includes at the plan's unit price. Integer arithmetic throughout (prices in
// thousandths of a cent, quantities whole), rounded once per line, half up, to the cent.

import type { Plan } from '../plans/plan.js';
import type { InvoiceLineKind } from './billing-tables.js';

export interface PricedLine {
  readonly kind: InvoiceLineKind;
  readonly metric: string | null;
  readonly description: string;
  readonly quantity: number;
  readonly included: number | null;
  readonly unitPriceMillicents: number | null;
  readonly amountCents: number;
}

export interface PricedPeriod {
  readonly lines: readonly PricedLine[];
  readonly totalCents: number;
}

const MILLICENTS_PER_CENT = 1000n;

/** Millicents to cents, half up, without passing through a float. */
function centsOf(millicents: bigint): number {
  return Number((millicents + MILLICENTS_PER_CENT / 2n) / MILLICENTS_PER_CENT);
}

/**
 * The lines of one period for `plan` given the period's usage per metric. A plan with a custom
 * price (null: priced by contract) bills its usage only.
 *
 * @example
 *   pricePeriod(pro, new Map([['api_calls', 1_250_000]]))
 *   // plan 1500 + overage of 250,000 calls at 10 millicents = 2500 cents -> total 4000
 */
export function pricePeriod(plan: Plan, usage: ReadonlyMap<string, number>): PricedPeriod {
  const lines: PricedLine[] = [
    {
      kind: 'plan',
      metric: null,
      description: plan.monthlyPriceCents === null ? `${plan.name} plan (priced by contract)` : `${plan.name} plan`,
      quantity: 1,
      included: null,
      unitPriceMillicents: null,
      amountCents: plan.monthlyPriceCents ?? 0,
    },
  ];
  for (const [metric, price] of Object.entries(plan.meteredPrices).sort(([a], [b]) => a.localeCompare(b))) {
    const used = Math.max(0, Math.floor(usage.get(metric) ?? 0));
    const over = Math.max(0, used - price.included);
    lines.push({
      kind: 'overage',
      metric,
      description: `${metric} beyond the ${price.included.toLocaleString('en-US')} included`,
      quantity: over,
      included: price.included,
      unitPriceMillicents: price.unitPriceMillicents,
      amountCents: centsOf(BigInt(over) * BigInt(price.unitPriceMillicents)),
    });
  }
  return { lines, totalCents: lines.reduce((sum, line) => sum + line.amountCents, 0) };
}
