// What a period costs: the plan's monthly price, plus, for each metered metric, every unit past
// what the plan includes at the plan's unit price. Integer arithmetic throughout (prices in
// thousandths of a cent, quantities whole), rounded once per line, half up, to the cent.

import type { Plan } from '../plans/plan.js';
import { DAY_MS } from '../clock.js';
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

/** A stretch of a period on one plan. */
export interface PlanStretch {
  readonly plan: Plan;
  readonly start: Date;
  /** Exclusive. */
  readonly end: Date;
}

/**
 * A period the tenant spent on one or more plans (`stretches`, in order, tiling the period): one
 * plan line per stretch, the plan's monthly price times the stretch's share of the period (of
 * `month` when given: a period a moved anchor cut short is a part of its month),
 * rounded half up to the cent (its description says the days); the metered overage priced by the
 * plan at the period's end, since usage is summed over the whole period. One stretch is
 * `pricePeriod` exactly.
 *
 * @example
 *   // 30-day period, free for 10 days then pro (1500) for 20:
 *   // "Free plan, 10 of 30 days" 0, "Pro plan, 20 of 30 days" 1000, then pro's overage lines
 */
export function priceStretches(stretches: readonly PlanStretch[], usage: ReadonlyMap<string, number>, month?: { readonly start: Date; readonly end: Date }): PricedPeriod {
  const last = stretches.at(-1);
  if (!last) throw new Error('a period has at least one stretch');
  const whole = pricePeriod(last.plan, usage);
  const stretchedMs = last.end.getTime() - stretches[0]!.start.getTime();
  const monthMs = month ? month.end.getTime() - month.start.getTime() : stretchedMs;
  if (stretches.length === 1 && monthMs === stretchedMs) return whole;
  const periodMs = BigInt(monthMs);
  const planLines: PricedLine[] = stretches.map(({ plan, start, end }) => {
    const ms = BigInt(end.getTime() - start.getTime());
    const monthly = plan.monthlyPriceCents;
    return {
      kind: 'plan',
      metric: null,
      description: `${plan.name} plan, ${days(ms)} of ${days(periodMs)} days${monthly === null ? ' (priced by contract)' : ''}`,
      quantity: 1,
      included: null,
      unitPriceMillicents: null,
      amountCents: monthly === null ? 0 : Number((BigInt(monthly) * ms * 2n + periodMs) / (2n * periodMs)),
    };
  });
  const lines = [...planLines, ...whole.lines.filter((line) => line.kind === 'overage')];
  return { lines, totalCents: lines.reduce((sum, line) => sum + line.amountCents, 0) };
}

/** Days to two decimals, without trailing zeros: 10, 12.5, 0.04. */
function days(ms: bigint): string {
  return String(Math.round((Number(ms) / DAY_MS) * 100) / 100);
}
