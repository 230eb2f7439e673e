// The platform operator edits the plan catalog without a migration: creates a plan, changes
// its prices, limits and flags, retires it. Each change runs through the audited service role,
// writes its platform audit row in the same transaction and evicts the catalog on every
// instance. A retired plan stays for the tenants on it; nobody new may choose it.

import { recordPlatformAudit } from '../audit/record-audit.js';
import type { CacheInvalidation } from '../cache/cache-invalidation.js';
import type { Clock } from '../clock.js';
import type { Database, Tx } from '../db/database.js';
import { flagDefinitionFromRow } from '../flags/flag.js';
import { assertValueFits } from '../flags/flag-values.js';
import { AppError } from '../http/problems.js';
import type { PlatformOperator } from '../tenancy/actor.js';
import type { MeteredPrice, Plan } from './plan.js';
import { planFromRow } from './platform-repository.js';

export interface PlanInput {
  readonly name: string;
  readonly monthlyPriceCents: number | null;
  readonly limits: Readonly<Record<string, number | null>>;
  readonly apiRateLimitPerMinute: number | null;
  readonly sortOrder: number;
  readonly meteredPrices?: Readonly<Record<string, MeteredPrice>> | undefined;
  readonly flags?: Readonly<Record<string, unknown>> | undefined;
}

export type PlanPatch = Partial<PlanInput>;

/** A plan with the flag values it sets, as the audit log and the admin API show it. */
export interface PlanRecord {
  readonly plan: Plan;
  readonly flags: ReadonlyMap<string, unknown>;
}

function meteredRow(prices: Readonly<Record<string, MeteredPrice>>) {
  return Object.fromEntries(Object.entries(prices).map(([metric, price]) => [metric, { included: price.included, unit_price_millicents: price.unitPriceMillicents }]));
}

function auditShape({ plan, flags }: PlanRecord) {
  const { settings: _settings, ...fields } = plan;
  return { ...fields, retiredAt: plan.retiredAt?.toISOString() ?? null, flags: Object.fromEntries(flags) };
}

async function readPlan(tx: Tx, key: string, lock: boolean): Promise<PlanRecord | undefined> {
  const query = tx.selectFrom('plans').selectAll().where('key', '=', key);
  const row = await (lock ? query.forUpdate() : query).executeTakeFirst();
  if (!row) return undefined;
  const defaults = await tx.selectFrom('flag_plan_defaults').select(['flag_key', 'value']).where('plan_key', '=', key).orderBy('flag_key').execute();
  return { plan: planFromRow(row), flags: new Map(defaults.map((entry) => [entry.flag_key, entry.value])) };
}

/** Metrics and flags named by the input must exist; metered prices only on metrics billing can sum. */
async function checkReferences(tx: Tx, input: PlanPatch): Promise<void> {
  if (input.limits || input.meteredPrices) {
    const metrics = new Map((await tx.selectFrom('usage_metrics').select(['key', 'aggregation']).execute()).map((row) => [row.key, row.aggregation]));
    // A limit may also name what a module limits outside metering (realtime_connections): any key a plan limits already.
    const limited = new Set((await tx.selectFrom('plans').select('limits').execute()).flatMap((row) => Object.keys(row.limits)));
    for (const metric of Object.keys(input.limits ?? {})) {
      if (!metrics.has(metric) && !limited.has(metric)) throw new AppError('validation-failed', `no metric "${metric}"`, { field: `limits.${metric}` });
    }
    for (const metric of Object.keys(input.meteredPrices ?? {})) {
      const aggregation = metrics.get(metric);
      if (!aggregation) throw new AppError('validation-failed', `no metric "${metric}"`, { field: `meteredPrices.${metric}` });
      if (aggregation === 'unique_count') {
        throw new AppError('validation-failed', `"${metric}" counts distinct values, which billing does not price`, { field: `meteredPrices.${metric}` });
      }
    }
  }
  for (const [key, value] of Object.entries(input.flags ?? {})) {
    const row = await tx.selectFrom('flag_definitions').selectAll().where('key', '=', key).executeTakeFirst();
    if (!row) throw new AppError('validation-failed', `no flag "${key}"`, { field: `flags.${key}` });
    assertValueFits(flagDefinitionFromRow(row), value, `flags.${key}`);
  }
}

/** Replaces the plan's flag values with `flags`. */
async function writeFlags(tx: Tx, planKey: string, flags: Readonly<Record<string, unknown>>, now: Date): Promise<void> {
  const keys = Object.keys(flags);
  let removal = tx.deleteFrom('flag_plan_defaults').where('plan_key', '=', planKey);
  if (keys.length > 0) removal = removal.where('flag_key', 'not in', keys);
  await removal.execute();
  for (const key of keys) {
    const value = JSON.stringify(flags[key]);
    await tx
      .insertInto('flag_plan_defaults')
      .values({ flag_key: key, plan_key: planKey, value })
      .onConflict((oc) => oc.columns(['flag_key', 'plan_key']).doUpdateSet({ value, updated_at: now }))
      .execute();
  }
}

export class PlanAdministration {
  constructor(
    private readonly db: Database,
    private readonly invalidation: CacheInvalidation,
    private readonly clock: Clock,
  ) {}

  /** Every plan, retired ones too, with the flag values each sets. */
  list(): Promise<PlanRecord[]> {
    return this.db.service('platform admin: read the plan catalog', async (tx) => {
      const rows = await tx.selectFrom('plans').select('key').orderBy('sort_order').orderBy('key').execute();
      const records: PlanRecord[] = [];
      for (const { key } of rows) records.push((await readPlan(tx, key, false))!);
      return records;
    });
  }

  /** A new plan; 409 when the key is taken (retired plans included: keys are never reused). */
  create(operator: PlatformOperator, key: string, input: PlanInput): Promise<PlanRecord> {
    return this.#change('platform admin: create a plan', async (tx) => {
      await checkReferences(tx, input);
      const inserted = await tx
        .insertInto('plans')
        .values({
          key,
          name: input.name,
          monthly_price_cents: input.monthlyPriceCents,
          limits: JSON.stringify(input.limits),
          api_rate_limit_per_minute: input.apiRateLimitPerMinute,
          sort_order: input.sortOrder,
          metered_prices: JSON.stringify(meteredRow(input.meteredPrices ?? {})),
        })
        .onConflict((oc) => oc.column('key').doNothing())
        .returning('key')
        .executeTakeFirst();
      if (!inserted) throw new AppError('conflict', `plan "${key}" exists already`, { field: 'key' });
      await writeFlags(tx, key, input.flags ?? {}, this.clock.now());
      const after = (await readPlan(tx, key, false))!;
      await recordPlatformAudit(tx, operator, { action: 'plan.created', target: `plan:${key}`, before: null, after: auditShape(after) });
      return after;
    });
  }

  /** Changes the fields given; limits, meteredPrices and flags replace the whole map. */
  update(operator: PlatformOperator, key: string, patch: PlanPatch): Promise<PlanRecord> {
    return this.#change('platform admin: change a plan', async (tx) => {
      const before = await readPlan(tx, key, true);
      if (!before) throw new AppError('not-found', `no plan "${key}"`);
      await checkReferences(tx, patch);
      const now = this.clock.now();
      await tx
        .updateTable('plans')
        .set({
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.monthlyPriceCents !== undefined ? { monthly_price_cents: patch.monthlyPriceCents } : {}),
          ...(patch.limits !== undefined ? { limits: JSON.stringify(patch.limits) } : {}),
          ...(patch.apiRateLimitPerMinute !== undefined ? { api_rate_limit_per_minute: patch.apiRateLimitPerMinute } : {}),
          ...(patch.sortOrder !== undefined ? { sort_order: patch.sortOrder } : {}),
          ...(patch.meteredPrices !== undefined ? { metered_prices: JSON.stringify(meteredRow(patch.meteredPrices)) } : {}),
          updated_at: now,
        })
        .where('key', '=', key)
        .execute();
      if (patch.flags !== undefined) await writeFlags(tx, key, patch.flags, now);
      const after = (await readPlan(tx, key, false))!;
      await recordPlatformAudit(tx, operator, { action: 'plan.updated', target: `plan:${key}`, before: auditShape(before), after: auditShape(after) });
      return after;
    });
  }

  /** Retires the plan: tenants on it keep it; sign-ups and plan changes refuse it. Retiring twice changes nothing. */
  retire(operator: PlatformOperator, key: string, reason: string): Promise<PlanRecord> {
    return this.#change('platform admin: retire a plan', async (tx) => {
      const before = await readPlan(tx, key, true);
      if (!before) throw new AppError('not-found', `no plan "${key}"`);
      if (before.plan.retiredAt) return before;
      const live = await tx.selectFrom('plans').select('key').where('retired_at', 'is', null).where('key', '!=', key).executeTakeFirst();
      if (!live) throw new AppError('conflict', 'the catalog must keep one plan that is not retired');
      await tx.updateTable('plans').set({ retired_at: this.clock.now(), updated_at: this.clock.now() }).where('key', '=', key).execute();
      const after = (await readPlan(tx, key, false))!;
      await recordPlatformAudit(tx, operator, { action: 'plan.retired', target: `plan:${key}`, before: auditShape(before), after: { ...auditShape(after), reason } });
      return after;
    });
  }

  async #change<T>(reason: string, work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.db.service(reason, async (tx) => {
      const value = await work(tx);
      await this.invalidation.record(tx, { scope: 'platform' });
      return value;
    });
  }
}
