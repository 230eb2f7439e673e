// Plan limits enforced before the action, inside its transaction: a conditional update of
// the tenant's counter row takes the quota or refuses, so no check-then-act race exists.
// Hard limits refuse (429 until the period resets; 403 for levels such as seats); soft
// limits let the action through. Both leave a warning at 80% and 100%, once per period.

import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Tx } from '../db/database.js';
import { AppError } from '../http/problems.js';
import { billingAnchor, billingPeriod, NO_PERIOD_START, type BillingPeriod } from './billing-period.js';
import type { Metric, MetricCatalog } from './metric-catalog.js';
import type { PlanLimits } from './plan-limits.js';
import { addToCounter, counterValue, insertWarning, lockCounter, setCounter } from './usage-counter-repository.js';

const THRESHOLDS = [80, 100] as const;

/**
 * Whose quota: an Actor (its plan is the one resolved for the request), or a tenant named
 * by work outside a request, whose plan is then read in the transaction.
 */
export interface MeteredTenant {
  readonly tenantId: string;
  readonly plan?: string | undefined;
}

/** A threshold passed for the first time this period, as the warning row records it. */
export interface UsageWarning {
  readonly tenantId: string;
  readonly metric: string;
  readonly threshold: 80 | 100;
  readonly used: number;
  readonly limit: number;
  /** NO_PERIOD_START for limits that never reset. */
  readonly periodStart: Date;
}

/**
 * Told of each warning in the transaction that records it, so whatever it writes (a webhook
 * event) commits with the warning or not at all: once per period, metric and threshold.
 */
export type UsageWarningListener = (tx: Tx, warning: UsageWarning) => Promise<void>;

export class Quotas {
  constructor(
    private readonly catalog: MetricCatalog,
    private readonly limits: PlanLimits,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly onWarning?: UsageWarningListener,
  ) {}

  /**
   * Takes `amount` of a metric's quota for the tenant in `tx`, or throws past a hard
   * limit: 429 quota-exceeded until the period resets, or 403 plan-limit-reached for a metric
   * that never resets. Rolled back with the action if the action fails.
   *
   * @example
   *   await db.tenant(async (tx) => { await quotas.take(tx, actor, 'tasks'); await insertTask(tx, task); });
   */
  async take(tx: Tx, tenant: MeteredTenant, metricKey: string, amount = 1): Promise<void> {
    await this.#add(tx, tenant, metricKey, amount, true);
  }

  /**
   * Counts usage that has already happened (API calls) against the quota without refusing
   * anything; only the warnings follow.
   */
  async count(tx: Tx, tenant: MeteredTenant, metricKey: string, amount: number): Promise<void> {
    await this.#add(tx, tenant, metricKey, amount, false);
  }

  async #add(tx: Tx, tenant: MeteredTenant, metricKey: string, amount: number, enforce: boolean): Promise<void> {
    const { metric, limit } = await this.#limitOf(tx, tenant, metricKey);
    if (limit === null) return;
    const now = this.clock.now();
    const period = await this.#period(tx, tenant.tenantId, metric, now);
    const hard = enforce && metric.enforcement === 'hard';
    const used = await addToCounter(tx, metric.key, period.start, amount, hard ? limit : null, now);
    if (used === undefined) {
      const current = await counterValue(tx, metric.key, period.start);
      if (!metric.resets) throw await this.#planLimitReached(tx, metric, limit, current, amount);
      const retryAfter = Math.max(1, Math.ceil((period.end.getTime() - now.getTime()) / 1000));
      throw new AppError('quota-exceeded', `the plan allows ${amountOf(metric, limit)} per billing period`, {
        metric: metric.key,
        limit,
        current,
        period_end: period.end.toISOString(),
        retry_after: retryAfter,
      });
    }
    await this.#warn(tx, tenant.tenantId, metric, period.start, used - amount, used, limit, now);
  }

  /**
   * Admits one more unit of a level metric (seats): locks the tenant's counter row, counts
   * the true level with `countNow` while holding it, and throws 403 plan-limit-reached when
   * one more would pass a hard limit. Returns the new level for the caller to record.
   */
  async admitLevel(tx: Tx, tenant: MeteredTenant, metricKey: string, countNow: (tx: Tx) => Promise<number>): Promise<number> {
    const { metric, limit } = await this.#limitOf(tx, tenant, metricKey);
    const now = this.clock.now();
    await lockCounter(tx, metric.key, NO_PERIOD_START, now);
    const level = await countNow(tx);
    if (limit !== null && metric.enforcement === 'hard' && level + 1 > limit) throw await this.#planLimitReached(tx, metric, limit, level, 1);
    await setCounter(tx, metric.key, NO_PERIOD_START, level + 1, now);
    if (limit !== null) await this.#warn(tx, tenant.tenantId, metric, NO_PERIOD_START, level, level + 1, limit, now);
    return level + 1;
  }

  /**
   * Checks a level whose count already includes the claim being made (an invitation holds a
   * seat before anyone joins): locks the tenant's counter row, counts with `countNow` while
   * holding it, and throws 403 plan-limit-reached when that level passes a hard limit. The
   * counter itself is left alone: it keeps what was admitted, not what was offered.
   */
  async holdLevel(tx: Tx, tenant: MeteredTenant, metricKey: string, countNow: (tx: Tx) => Promise<number>): Promise<void> {
    const { metric, limit } = await this.#limitOf(tx, tenant, metricKey);
    if (limit === null || metric.enforcement !== 'hard') return;
    await lockCounter(tx, metric.key, NO_PERIOD_START, this.clock.now());
    const level = await countNow(tx);
    if (level > limit) throw await this.#planLimitReached(tx, metric, limit, level - 1, 1);
  }

  /** Locks a level counter's row until commit (creating it at zero). */
  async lockLevel(tx: Tx, metricKey: string): Promise<void> {
    await lockCounter(tx, metricKey, NO_PERIOD_START, this.clock.now());
  }

  /** Resets a level counter to its true value after a decrease (a member removed). */
  async settleLevel(tx: Tx, metricKey: string, level: number): Promise<void> {
    await setCounter(tx, metricKey, NO_PERIOD_START, level, this.clock.now());
  }

  /** A limit that never resets: waiting does not help, so 403 and the plan that would allow it. */
  async #planLimitReached(tx: Tx, metric: Metric, limit: number, current: number, amount: number): Promise<AppError> {
    const requiredPlan = (await this.limits.requiredPlanFor?.(metric.key, current + amount, tx)) ?? null;
    return new AppError('plan-limit-reached', `the plan allows ${amountOf(metric, limit)}; upgrade for more`, {
      metric: metric.key,
      limit,
      current,
      required_plan: requiredPlan,
    });
  }

  async #limitOf(tx: Tx, tenant: MeteredTenant, metricKey: string): Promise<{ metric: Metric; limit: number | null }> {
    // Caches that went stale are read through tx: this unit holds a connection already, and
    // waiting for a second one could wait for ever once every connection is held that way.
    const metric = await this.catalog.find(metricKey, tx);
    if (!metric) throw new Error(`metric "${metricKey}" is not in the catalog`);
    const plan = tenant.plan ?? (await planOf(tx, tenant.tenantId));
    return { metric, limit: await this.limits.limitFor(plan, metric.key, tx) };
  }

  async #period(tx: Tx, tenantId: string, metric: Metric, now: Date): Promise<BillingPeriod> {
    if (!metric.resets) return { start: NO_PERIOD_START, end: new Date(8.64e15) };
    return billingPeriod(await billingAnchor(tx, tenantId), now);
  }

  async #warn(tx: Tx, tenantId: string, metric: Metric, periodStart: Date, before: number, after: number, limit: number, now: Date): Promise<void> {
    for (const threshold of THRESHOLDS) {
      const mark = (limit * threshold) / 100;
      if (before >= mark || after < mark) continue;
      if (await insertWarning(tx, { metric: metric.key, periodStart, threshold, used: after, limit, now })) {
        this.logger.warn({ metric: metric.key, threshold, used: after, limit }, 'usage passed a threshold of its plan limit');
        // The insert above decided "first time": concurrent takers wait on its unique key.
        await this.onWarning?.(tx, { tenantId, metric: metric.key, threshold, used: after, limit, periodStart });
      }
    }
  }
}

/** "1000 tasks", "20 requests of api_calls": the metric is named when its unit does not name it. */
function amountOf(metric: Metric, amount: number): string {
  return metric.unit === metric.key ? `${amount} ${metric.unit}` : `${amount} ${metric.unit} of ${metric.key}`;
}

async function planOf(tx: Tx, tenantId: string): Promise<string> {
  const row = await tx.selectFrom('tenants').select('plan').where('id', '=', tenantId).executeTakeFirstOrThrow();
  return row.plan;
}
