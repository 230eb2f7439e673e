// A tenant's plan changes. An upgrade applies at once. A downgrade applies at once when the
// tenant's usage already fits the new plan; when only per-period usage (tasks this period) is
// above the new limits it waits for the period's end; when a level (seats, agents) is above
// them it is refused with what is over. Choosing the current plan again cancels a waiting
// downgrade. The operator changes a plan at once, with a reason. The period-end job applies
// waiting downgrades.
//
// Every change is one service unit that locks the tenant's row first, so two concurrent changes
// of one tenant take turns and the second decides on what the first left. It commits with its
// audit row, its announcement (billing.plan-changed and the webhook plan.changed), the cache
// invalidation every instance hears, and the provider's word (SubscriptionChanger, called last:
// a provider that refuses rolls everything back).

import { unsafeRecordAuditForTenant } from '../../audit/record-audit.js';
import type { CacheInvalidation } from '../../cache/cache-invalidation.js';
import { CACHE_INVALIDATION_TOPIC } from '../../cache/redis-transport.js';
import type { Clock } from '../../clock.js';
import { platformTx } from '../../db/database.js';
import { AppError } from '../../http/problems.js';
import { billingPeriod } from '../../metering/billing-period.js';
import { recordEffect } from '../../outbox/record-effect.js';
import type { Plan } from '../../plans/plan.js';
import { readPlatformData } from '../../plans/platform-repository.js';
import { actorLabel, type Actor, type PlatformOperator, type SystemActor } from '../../tenancy/actor.js';
import { ensureBillingAccount } from '../billing-account-repository.js';
import type { PlanChangeCause } from '../billing-events.js';
import type { BillingDatabase, BillingTx } from '../billing-tables.js';
import { announcePlanChange } from '../billing-webhook-events.js';
import { recordPlanChange } from './plan-history.js';
import type { SubscriptionChanger } from './subscription-changer.js';
import { usageOverLimits } from './usage-standing.js';

type Who = Actor | PlatformOperator | SystemActor;

export interface PendingPlanChange {
  readonly plan: string;
  readonly at: Date;
}

export interface PlanChangeOutcome {
  /** The tenant's plan now. */
  readonly plan: string;
  readonly previousPlan: string;
  /** `unchanged`: already on that plan (a waiting downgrade, if any, is cancelled). */
  readonly effective: 'now' | 'period-end' | 'unchanged';
  readonly pending: PendingPlanChange | null;
}

interface LockedTenant {
  readonly plan: string;
  readonly status: string;
  readonly billingAnchor: Date;
  readonly pending: PendingPlanChange | null;
}

export class PlanChanges {
  constructor(
    private readonly db: BillingDatabase,
    private readonly clock: Clock,
    private readonly changeSubscription: SubscriptionChanger,
    /** This app's invalidation bus; a job has none, and invalidates through the outbox. */
    private readonly invalidation?: CacheInvalidation,
  ) {}

  /** The tenant (owner) asks: upgrade now, downgrade now or at the period's end, or refused. */
  async request(actor: Actor, planKey: string): Promise<PlanChangeOutcome> {
    // A tenant unit first: PostgreSQL confirms the request's cached access (role, plan, status)
    // before the service role, which checks nothing of the kind, writes anything.
    await this.db.tenant(async () => {});
    return this.db.service('billing: a tenant changes its plan', (tx) => this.requestIn(tx, actor.tenantId, planKey, actor));
  }

  /**
   * The tenant's request decided and applied inside `tx`, a service unit the caller opened (a
   * completed Checkout applies the plan it was bought for in the unit that records the Stripe
   * event). Same rules as PATCH /v1/tenant/plan. The refusals (AppError: retired, unknown,
   * suspended, over the limits) are thrown before this writes anything but the account row's
   * existence, so a caller may catch them and still commit.
   */
  async requestIn(tx: BillingTx, tenantId: string, planKey: string, who: Actor | SystemActor): Promise<PlanChangeOutcome> {
    const tenant = await this.#lock(tx, tenantId, 'tenant-not-found');
    if (tenant.status === 'suspended') {
      throw new AppError('tenant-read-only', 'this tenant is suspended and read-only: pay what is due (GET /v1/billing) before changing plans', {
        tenant_status: 'suspended',
        billing: '/v1/billing',
      });
    }
    const plans = await catalog(tx);
    const target = findPlan(plans, planKey);
    if (planKey === tenant.plan) return this.#cancelPending(tx, tenantId, tenant, who);
    if (target.retiredAt) throw retired(planKey);
    const current = plans.get(tenant.plan);
    if (!current || target.sortOrder > current.sortOrder) return this.#applyNow(tx, tenantId, tenant, target.key, who, 'upgrade');

    const period = billingPeriod(tenant.billingAnchor, this.clock.now());
    const over = await usageOverLimits(platformTx(tx), tenantId, target, period);
    if (over.some((metric) => !metric.resets)) {
      throw new AppError('usage-over-plan-limits', `the tenant's usage is above what plan "${planKey}" allows: reduce it first`, {
        plan: planKey,
        over: over.map(({ metric, current: used, limit, resets }) => ({ metric, current: used, limit, resets_at: resets ? period.end.toISOString() : null })),
      });
    }
    if (over.length === 0) return this.#applyNow(tx, tenantId, tenant, target.key, who, 'downgrade');
    return this.#schedule(tx, tenantId, tenant, target.key, period.end, who, over.map((metric) => metric.metric));
  }

  /** The operator moves a tenant to a plan at once, whatever its usage; a waiting downgrade is dropped. */
  async byOperator(operator: PlatformOperator, tenantId: string, planKey: string, reason: string): Promise<PlanChangeOutcome> {
    return this.db.service(`platform admin: change a tenant's plan (${reason.slice(0, 200)})`, async (tx) => {
      const tenant = await this.#lock(tx, tenantId, 'not-found');
      const target = findPlan(await catalog(tx), planKey);
      if (planKey === tenant.plan && !tenant.pending) return { plan: tenant.plan, previousPlan: tenant.plan, effective: 'unchanged', pending: null };
      if (target.retiredAt && planKey !== tenant.plan) throw retired(planKey);
      return this.#applyNow(tx, tenantId, tenant, planKey, operator, 'operator', reason);
    });
  }

  /**
   * The period-end job: applies every waiting downgrade that is due, each tenant in its own unit.
   * A re-run, or a second instance, finds nothing left to apply: the schedule is cleared with it.
   */
  async applyDue(who: SystemActor): Promise<{ tenantId: string; from: string; to: string }[]> {
    const now = this.clock.now();
    const due = await this.db.service('billing: find plan changes due', (tx) =>
      tx
        .selectFrom('billing_accounts as b')
        .innerJoin('tenants as t', 't.id', 'b.tenant_id')
        .select('b.tenant_id')
        .where('b.scheduled_plan', 'is not', null)
        .where('b.scheduled_at', '<=', now)
        .where('t.deleted_at', 'is', null)
        .execute(),
    );
    const applied: { tenantId: string; from: string; to: string }[] = [];
    for (const { tenant_id: tenantId } of due) {
      const done = await this.db.service('billing: apply a scheduled plan change', async (tx) => {
        const tenant = await this.#lock(tx, tenantId, 'not-found');
        if (!tenant.pending || tenant.pending.at > now) return undefined;
        const outcome = await this.#applyNow(tx, tenantId, tenant, tenant.pending.plan, who, 'scheduled_downgrade');
        return { tenantId, from: outcome.previousPlan, to: outcome.plan };
      });
      if (done) applied.push(done);
    }
    return applied;
  }

  /** The tenant's waiting downgrade, read in its own unit (GET /v1/billing). */
  async pendingOf(tx: BillingTx): Promise<PendingPlanChange | null> {
    const account = await tx.selectFrom('billing_accounts').select(['scheduled_plan', 'scheduled_at']).where('deleted_at', 'is', null).executeTakeFirst();
    return account?.scheduled_plan && account.scheduled_at ? { plan: account.scheduled_plan, at: account.scheduled_at } : null;
  }

  async #lock(tx: BillingTx, tenantId: string, missing: 'tenant-not-found' | 'not-found'): Promise<LockedTenant> {
    const tenant = await tx
      .selectFrom('tenants')
      .select(['plan', 'status', 'billing_anchor'])
      .where('id', '=', tenantId)
      .where('deleted_at', 'is', null)
      .forUpdate()
      .executeTakeFirst();
    if (!tenant) throw new AppError(missing, missing === 'not-found' ? 'no such tenant' : undefined);
    await ensureBillingAccount(tx, tenantId);
    const account = await tx
      .selectFrom('billing_accounts')
      .select(['scheduled_plan', 'scheduled_at'])
      .where('tenant_id', '=', tenantId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const pending = account.scheduled_plan && account.scheduled_at ? { plan: account.scheduled_plan, at: account.scheduled_at } : null;
    return { plan: tenant.plan, status: tenant.status, billingAnchor: tenant.billing_anchor, pending };
  }

  async #applyNow(
    tx: BillingTx,
    tenantId: string,
    tenant: LockedTenant,
    planKey: string,
    who: Who,
    cause: PlanChangeCause,
    reason?: string,
  ): Promise<PlanChangeOutcome> {
    const now = this.clock.now();
    if (planKey !== tenant.plan) {
      await tx.updateTable('tenants').set({ plan: planKey, updated_at: now }).where('id', '=', tenantId).execute();
      // The invoice bills each part of the period at the plan of that part.
      await recordPlanChange(tx, tenantId, tenant.plan, planKey, now);
    }
    await this.#clearSchedule(tx, tenantId, now);
    await unsafeRecordAuditForTenant(platformTx(tx), tenantId, who, {
      action: 'plan.changed',
      target: 'plan',
      before: { plan: tenant.plan, ...(tenant.pending ? { pending: { plan: tenant.pending.plan, at: tenant.pending.at.toISOString() } } : {}) },
      after: { plan: planKey, cause, ...(reason ? { reason } : {}) },
    });
    if (planKey !== tenant.plan) {
      await announcePlanChange(platformTx(tx), tenantId, { from: tenant.plan, to: planKey, cause, at: now.toISOString() });
      await this.#invalidate(tx, tenantId);
    }
    // A scheduled downgrade was the provider's to apply at the period's end already.
    if (cause !== 'scheduled_downgrade') await this.changeSubscription(tx, tenantId, planKey, 'now');
    return { plan: planKey, previousPlan: tenant.plan, effective: 'now', pending: null };
  }

  async #schedule(tx: BillingTx, tenantId: string, tenant: LockedTenant, planKey: string, at: Date, who: Actor | SystemActor, overMetrics: string[]): Promise<PlanChangeOutcome> {
    const now = this.clock.now();
    await tx
      .updateTable('billing_accounts')
      .set({ scheduled_plan: planKey, scheduled_at: at, scheduled_by: actorLabel(who), updated_at: now })
      .where('tenant_id', '=', tenantId)
      .execute();
    await unsafeRecordAuditForTenant(platformTx(tx), tenantId, who, {
      action: 'plan.change_scheduled',
      target: 'plan',
      before: { plan: tenant.plan, pending: tenant.pending ? { plan: tenant.pending.plan, at: tenant.pending.at.toISOString() } : null },
      after: { plan: tenant.plan, pending: { plan: planKey, at: at.toISOString() }, waitsFor: overMetrics },
    });
    await this.changeSubscription(tx, tenantId, planKey, 'period-end');
    return { plan: tenant.plan, previousPlan: tenant.plan, effective: 'period-end', pending: { plan: planKey, at } };
  }

  async #cancelPending(tx: BillingTx, tenantId: string, tenant: LockedTenant, who: Actor | SystemActor): Promise<PlanChangeOutcome> {
    const unchanged = { plan: tenant.plan, previousPlan: tenant.plan, effective: 'unchanged', pending: null } as const;
    if (!tenant.pending) return unchanged;
    await this.#clearSchedule(tx, tenantId, this.clock.now());
    await unsafeRecordAuditForTenant(platformTx(tx), tenantId, who, {
      action: 'plan.change_cancelled',
      target: 'plan',
      before: { plan: tenant.plan, pending: { plan: tenant.pending.plan, at: tenant.pending.at.toISOString() } },
      after: { plan: tenant.plan, pending: null },
    });
    await this.changeSubscription(tx, tenantId, tenant.plan, 'period-end');
    return unchanged;
  }

  async #clearSchedule(tx: BillingTx, tenantId: string, now: Date): Promise<void> {
    await tx
      .updateTable('billing_accounts')
      .set({ scheduled_plan: null, scheduled_at: null, scheduled_by: null, updated_at: now })
      .where('tenant_id', '=', tenantId)
      .where('scheduled_plan', 'is not', null)
      .execute();
  }

  async #invalidate(tx: BillingTx, tenantId: string): Promise<void> {
    if (this.invalidation) await this.invalidation.record(platformTx(tx), { scope: 'tenant', tenantId });
    else await recordEffect(platformTx(tx), tenantId, { topic: CACHE_INVALIDATION_TOPIC, payload: { scope: 'tenant', tenantId } });
  }
}

/** The catalog as committed now, read in the unit (a cached copy could still hold a plan just retired). */
async function catalog(tx: BillingTx): Promise<Map<string, Plan>> {
  const { plans } = await readPlatformData(platformTx(tx));
  return new Map(plans.map((plan) => [plan.key, plan]));
}

function findPlan(plans: ReadonlyMap<string, Plan>, planKey: string): Plan {
  const plan = plans.get(planKey);
  if (!plan) throw new AppError('validation-failed', `no plan "${planKey}"; GET /v1/plans lists them`, { field: 'plan' });
  return plan;
}

function retired(planKey: string): AppError {
  return new AppError('plan-retired', `plan "${planKey}" is retired: choose one of GET /v1/plans`, { plan: planKey, field: 'plan' });
}
