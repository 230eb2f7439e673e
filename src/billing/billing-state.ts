// Dunning as a state machine over tenants.status: active -> past_due when a payment fails,
// past_due -> suspended when the grace period runs out (a suspended tenant is read-only in the
// database), and back to active when paid; the platform operator may suspend or reactivate
// with a reason. Every transition commits with its audit row, its announcement (outbox:
// billing.state-changed, and the tenant's webhooks: billing.state_changed) and the cache invalidation that makes every instance re-read the
// tenant's access. A transition that does not apply (already there, or not from a state it
// leaves) changes nothing, so a redelivered payment event or a re-run job is harmless.

import { unsafeRecordAuditForTenant } from '../audit/record-audit.js';
import type { CacheInvalidation } from '../cache/cache-invalidation.js';
import { CACHE_INVALIDATION_TOPIC } from '../cache/redis-transport.js';
import { DAY_MS, type Clock } from '../clock.js';
import type { TenantStatus } from '../db/tables.js';
import { AppError } from '../http/problems.js';
import { recordEffect } from '../outbox/record-effect.js';
import type { PlatformOperator, SystemActor } from '../tenancy/actor.js';
import { platformTx } from '../db/database.js';
import { newId } from '../db/ids.js';
import { ensureBillingAccount } from './billing-account-repository.js';
import type { BillingStateCause, BillingStateChanged } from './billing-events.js';
import { announceStateChange } from './billing-webhook-events.js';
import type { BillingDatabase, BillingTx } from './billing-tables.js';

export type BillingActor = PlatformOperator | SystemActor;

export interface StateTransition {
  readonly tenantId: string;
  readonly from: TenantStatus;
  readonly to: TenantStatus;
  readonly cause: BillingStateCause;
}

/** The states each cause moves a tenant out of, and where to. */
const TRANSITIONS: Readonly<Record<BillingStateCause, { readonly from: readonly TenantStatus[]; readonly to: TenantStatus }>> = {
  payment_failed: { from: ['active'], to: 'past_due' },
  grace_period_ended: { from: ['past_due'], to: 'suspended' },
  payment_succeeded: { from: ['past_due', 'suspended'], to: 'active' },
  operator_suspended: { from: ['active', 'past_due'], to: 'suspended' },
  operator_reactivated: { from: ['past_due', 'suspended'], to: 'active' },
};

export class BillingState {
  constructor(
    private readonly db: BillingDatabase,
    private readonly clock: Clock,
    private readonly graceDays: number,
    /** This app's invalidation bus; a job has none, and invalidates through the outbox. */
    private readonly invalidation?: CacheInvalidation,
  ) {}

  /**
   * Moves the tenant as `cause` says, inside `tx` (a service unit the caller opened, so a
   * payment and its effect on the state commit together). Undefined when it does not apply.
   */
  async applyIn(tx: BillingTx, tenantId: string, cause: BillingStateCause, who: BillingActor, reason?: string): Promise<StateTransition | undefined> {
    const tenant = await tx
      .selectFrom('tenants')
      .select('status')
      .where('id', '=', tenantId)
      .where('deleted_at', 'is', null)
      .forUpdate()
      .executeTakeFirst();
    if (!tenant) throw new AppError('not-found', 'no such tenant');
    const rule = TRANSITIONS[cause];
    if (!rule.from.includes(tenant.status)) return undefined;
    const now = this.clock.now();
    const transition: StateTransition = { tenantId, from: tenant.status, to: rule.to, cause };
    const event: Omit<BillingStateChanged, 'topic' | 'tenantId'> = { from: tenant.status, to: rule.to, cause, at: now.toISOString() };
    // The writes below depend on nothing but the locked row read above, so they leave together:
    // pipelined on the unit's one connection, one round trip instead of one each (a Stripe event
    // is mostly this). Any failing aborts the transaction, and the unit rolls all of it back.
    await Promise.all([
      tx.updateTable('tenants').set({ status: rule.to, updated_at: now }).where('id', '=', tenantId).execute(),
      // The grace period counts from the failure; suspension keeps the date, payment clears it.
      rule.to === 'suspended'
        ? ensureBillingAccount(tx, tenantId)
        : tx
            .insertInto('billing_accounts')
            .values({ tenant_id: tenantId, id: newId(), provider: 'local', past_due_since: rule.to === 'past_due' ? now : null })
            .onConflict((conflict) => conflict.column('tenant_id').doUpdateSet({ past_due_since: rule.to === 'past_due' ? now : null, updated_at: now }))
            .execute(),
      unsafeRecordAuditForTenant(platformTx(tx), tenantId, who, {
        action: 'billing.state_changed',
        target: 'tenant_status',
        before: { status: tenant.status },
        after: { status: rule.to, cause, ...(reason ? { reason } : {}) },
      }),
      announceStateChange(platformTx(tx), tenantId, event),
      // Every instance drops its cached access to the tenant; until it hears, PostgreSQL's
      // check of each cached request holds the new state anyway (migration 0013).
      this.invalidation
        ? this.invalidation.record(platformTx(tx), { scope: 'tenant', tenantId })
        : recordEffect(platformTx(tx), tenantId, { topic: CACHE_INVALIDATION_TOPIC, payload: { scope: 'tenant', tenantId } }),
    ]);
    return transition;
  }

  /** One transition in a service unit of its own. */
  apply(tenantId: string, cause: BillingStateCause, who: BillingActor, reason?: string): Promise<StateTransition | undefined> {
    return this.db.service(`billing: ${cause.replaceAll('_', ' ')}`, (tx) => this.applyIn(tx, tenantId, cause, who, reason));
  }

  /** The tenant's status now (after a transition that did not apply). */
  async statusOf(tenantId: string): Promise<TenantStatus> {
    const row = await this.db.service('billing: read a tenant\'s status', (tx) =>
      tx.selectFrom('tenants').select('status').where('id', '=', tenantId).where('deleted_at', 'is', null).executeTakeFirst(),
    );
    if (!row) throw new AppError('not-found', 'no such tenant');
    return row.status;
  }

  /** The operator suspends a tenant: read-only until reactivated or paid. */
  async suspend(tenantId: string, operator: PlatformOperator, reason: string): Promise<StateTransition | undefined> {
    return this.apply(tenantId, 'operator_suspended', operator, reason);
  }

  async reactivate(tenantId: string, operator: PlatformOperator, reason: string): Promise<StateTransition | undefined> {
    return this.apply(tenantId, 'operator_reactivated', operator, reason);
  }

  /**
   * Suspends every tenant whose grace period has run out (the scheduled job). Each tenant moves
   * in its own unit: one that fails is logged by the caller's retry, the others still move.
   */
  async suspendOverdue(who: SystemActor): Promise<StateTransition[]> {
    const cutoff = new Date(this.clock.now().getTime() - this.graceDays * DAY_MS);
    const overdue = await this.db.service('billing: find tenants past their grace period', (tx) =>
      tx
        .selectFrom('billing_accounts as b')
        .innerJoin('tenants as t', 't.id', 'b.tenant_id')
        .select('b.tenant_id')
        .where('b.past_due_since', '<=', cutoff)
        .where('t.status', '=', 'past_due')
        .where('t.deleted_at', 'is', null)
        .execute(),
    );
    const moved: StateTransition[] = [];
    for (const { tenant_id } of overdue) {
      const transition = await this.apply(tenant_id, 'grace_period_ended', who);
      if (transition) moved.push(transition);
    }
    return moved;
  }
}
