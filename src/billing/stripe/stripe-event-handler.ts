// Applies one verified Stripe event to the tenant whose customer it names, exactly once: the
// event id is recorded in the same service unit as its effect (a unique index per tenant), so a
// redelivery, or two deliveries at once, change the tenant once, and a failure half-way leaves
// neither the record nor the effect. The account row is locked first, which orders concurrent
// events of one tenant; an event older (`created`) than the last one applied to the account is
// recorded but changes nothing, so events arriving out of order end where the newest says, except
// where the invoices say otherwise: an invoice event still updates its local invoice, and a tenant
// with an open invoice whose payment failed is past_due, never active.
//
// The tenant comes from the customer only (billing_accounts.customer_ref), never from metadata
// in the payload: an event about one tenant's customer cannot move another tenant. An unknown
// customer is logged and answered like a success, so Stripe stops retrying it.

import type Stripe from 'stripe';
import type { Logger } from 'pino';
import { unsafeRecordAuditForTenant } from '../../audit/record-audit.js';
import { CACHE_INVALIDATION_TOPIC } from '../../cache/redis-transport.js';
import type { Clock } from '../../clock.js';
import { platformTx } from '../../db/database.js';
import { newId } from '../../db/ids.js';
import { AppError } from '../../http/problems.js';
import { recordEffect } from '../../outbox/record-effect.js';
import type { SystemActor } from '../../tenancy/actor.js';
import type { BillingState } from '../billing-state.js';
import type { BillingDatabase, BillingTx } from '../billing-tables.js';
import type { PlanChanges } from '../plan-changes/plan-changes.js';
import { unpaidFailedInvoices } from '../invoice-repository.js';
import { anchorCutsOf } from '../local-periods.js';
import { recordPlanChange } from '../plan-changes/plan-history.js';
import { hasUnpaidStripeInvoice, INVOICE_EVENT_TYPES, reconcileLocalInvoice, settledPeriodAt, stripeInvoicePeriodAt } from './stripe-invoices.js';
import { CYCLING_SUBSCRIPTION_STATUSES, followSubscriptionAnchor, undoSubscriptionAnchor } from './subscription-anchor.js';

/** The events Tenantry acts on; any other type is acknowledged and ignored. */
export const HANDLED_EVENT_TYPES = [
  'checkout.session.completed',
  'invoice.paid',
  'invoice.payment_failed',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
] as const;
type HandledType = (typeof HANDLED_EVENT_TYPES)[number];

/**
 * Events whose effect depends on which came last (the tenant's state, its subscription); a
 * completed checkout only ever adds a payment method, so its order does not matter.
 */
const ORDERED: ReadonlySet<string> = new Set(HANDLED_EVENT_TYPES.filter((type) => type !== 'checkout.session.completed'));

/**
 * The subscription's own events are ordered apart from its invoices' (billing 0008): Stripe sends
 * both at one change in no set order, and an invoice's payment says nothing about the
 * subscription's state (nor the reverse), so neither may make the other stale.
 */
const ORDER_COLUMN = (type: string) => (type.startsWith('customer.subscription.') ? 'subscription_event_at' : 'provider_event_at') as 'subscription_event_at' | 'provider_event_at';

/**
 * Why a completed Checkout's plan is not applied, though the payment method is recorded: the
 * plan-change rules refused it (the same refusals PATCH /v1/tenant/plan answers with). The event
 * still commits, so Stripe stops retrying something that would be refused every time.
 */
const CHECKOUT_PLAN_REFUSALS: ReadonlySet<string> = new Set(['validation-failed', 'plan-retired', 'usage-over-plan-limits', 'tenant-read-only', 'conflict']);

/** Where a tenant whose subscription ended falls back to. */
const PLAN_WITHOUT_SUBSCRIPTION = 'free';

export type StripeEventOutcome = 'applied' | 'duplicate' | 'stale' | 'ignored' | 'unknown-customer';

/** The subset of an event this handler reads (what the signature covered, parsed). */
export type StripeEvent = Pick<Stripe.Event, 'id' | 'type' | 'created'> & { readonly data: { readonly object: unknown } };

interface Account {
  readonly tenant_id: string;
  readonly subscription_ref: string | null;
}

export class StripeEventHandler {
  constructor(
    private readonly db: BillingDatabase,
    private readonly state: BillingState,
    private readonly planChanges: PlanChanges,
    /** The plans sold through Stripe (STRIPE_PRICES): a Checkout can only have bought one of them. */
    private readonly prices: Readonly<Record<string, string>>,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  async handle(event: StripeEvent): Promise<StripeEventOutcome> {
    if (!isHandled(event.type)) return 'ignored';
    const object = (event.data.object ?? {}) as Record<string, unknown>;
    const customerRef = idOf(object.customer);
    if (!customerRef) return 'ignored';
    const created = new Date(event.created * 1000);
    const ordered = ORDERED.has(event.type);
    const orderColumn = ORDER_COLUMN(event.type);
    const invoiceEvent = INVOICE_EVENT_TYPES.has(event.type);
    const objectRef = invoiceEvent ? (idOf(object.id) ?? null) : null;
    const periodAt = objectRef ? (stripeInvoicePeriodAt(object) ?? null) : null;
    const outcome = await this.db.service('billing: apply a Stripe event', async (tx) => {
      // One statement, one round trip: lock the account, record the event (a duplicate records
      // nothing), and stamp the account's ordering when the event is the newest. A later failure
      // rolls all of it back with the effect.
      const now = this.clock.now();
      const account = await tx
        .with('account', (db) =>
          db
            .selectFrom('billing_accounts')
            .select(['tenant_id', 'subscription_ref', 'anchor_cuts', `${orderColumn} as ordered_at`])
            .where('provider', '=', 'stripe')
            .where('customer_ref', '=', customerRef)
            .where('deleted_at', 'is', null)
            .forUpdate(),
        )
        .with('recorded', (db) =>
          db
            .insertInto('billing_provider_events')
            .columns(['tenant_id', 'id', 'provider', 'event_id', 'event_type', 'event_created_at', 'applied', 'object_ref', 'period_at'])
            .expression((eb) =>
              eb.selectFrom('account').select((eb) => [
                'account.tenant_id',
                eb.cast<string>(eb.val(newId()), 'uuid').as('id'),
                eb.cast<'stripe'>(eb.val('stripe'), 'text').as('provider'),
                eb.cast<string>(eb.val(event.id), 'text').as('event_id'),
                eb.cast<string>(eb.val(event.type), 'text').as('event_type'),
                eb.cast<Date>(eb.val(created), 'timestamptz').as('event_created_at'),
                // Stale: an ordered event older than the last one of its kind applied to the account.
                (ordered ? eb.or([eb('account.ordered_at', 'is', null), eb('account.ordered_at', '<=', created)]) : eb.lit(true)).as('applied'),
                eb.cast<string | null>(eb.val(objectRef), 'text').as('object_ref'),
                eb.cast<Date | null>(eb.val(periodAt), 'timestamptz').as('period_at'),
              ]),
            )
            .onConflict((conflict) => conflict.columns(['tenant_id', 'provider', 'event_id']).doNothing())
            .returning(['tenant_id', 'applied']),
        )
        .with('stamped', (db) =>
          db
            .updateTable('billing_accounts')
            .set({ [orderColumn]: created, updated_at: now })
            .from('recorded')
            .whereRef('billing_accounts.tenant_id', '=', 'recorded.tenant_id')
            .where('recorded.applied', '=', true)
            .where((eb) => eb.lit(ordered))
            .returning('billing_accounts.tenant_id'),
        )
        .selectFrom('account')
        .leftJoin('recorded', 'recorded.tenant_id', 'account.tenant_id')
        .select(['account.tenant_id', 'account.subscription_ref', 'account.anchor_cuts', 'recorded.applied'])
        .executeTakeFirst();
      if (!account) return 'unknown-customer' as const;
      if (account.applied === null) return 'duplicate' as const;
      const stale = !account.applied;
      const who: SystemActor = { kind: 'system', name: 'billing', requestId: `stripe:${event.id}` };
      // The local invoice follows every invoice event, stale or not: a Stripe invoice once paid
      // stays paid, so what it shows does not depend on arrival order (stripe-invoices.ts).
      const cuts = anchorCutsOf(account.anchor_cuts);
      const settled = periodAt ? await reconcileLocalInvoice(tx, account.tenant_id, settledPeriodAt(periodAt, cuts), cuts, who, this.clock.now()) : undefined;
      // Dunning follows the invoices, not only the order of events: a tenant with an open invoice
      // whose payment failed is past_due even when the event that reopened it is stale (older than
      // the last one applied), and a newer payment of another invoice does not make it active.
      const unpaid = invoiceEvent && (await unpaidFailedInvoices(tx, account.tenant_id)) > 0;
      if (unpaid) await this.state.applyIn(tx, account.tenant_id, 'payment_failed', who);
      // Likewise a stale payment that settled a local invoice makes the tenant active once nothing
      // is left unpaid, by the local invoices or by Stripe's (a failure not invoiced locally yet).
      if (stale && settled === 'paid' && !unpaid && !(await hasUnpaidStripeInvoice(tx, account.tenant_id))) {
        await this.state.applyIn(tx, account.tenant_id, 'payment_succeeded', who);
      }
      if (stale) return 'stale' as const;
      await this.#apply(tx, account, event.type as HandledType, object, created, who, unpaid);
      return 'applied' as const;
    });
    if (outcome === 'unknown-customer') this.logger.info({ eventId: event.id, eventType: event.type, customerRef }, 'Stripe event for an unknown customer ignored');
    return outcome;
  }

  async #apply(tx: BillingTx, account: Account, type: HandledType, object: Record<string, unknown>, created: Date, who: SystemActor, unpaid: boolean): Promise<void> {
    const tenantId = account.tenant_id;
    const now = this.clock.now();
    switch (type) {
      case 'checkout.session.completed': {
        // The card becomes the one Stripe charges by the provisioning job, outside this transaction.
        const setupRef = idOf(object.setup_intent);
        await tx
          .updateTable('billing_accounts')
          .set({ has_payment_method: true, ...(setupRef ? { payment_method_setup_ref: setupRef } : {}), updated_at: now })
          .where('tenant_id', '=', tenantId)
          .execute();
        await unsafeRecordAuditForTenant(platformTx(tx), tenantId, who, {
          action: 'billing.payment_method_added',
          target: 'billing_account',
          before: { has_payment_method: false },
          after: { has_payment_method: true },
        });
        await this.#applyCheckoutPlan(tx, tenantId, object, who);
        return;
      }
      case 'invoice.paid':
        if (!unpaid) await this.state.applyIn(tx, tenantId, 'payment_succeeded', who);
        return;
      case 'invoice.payment_failed':
        await this.state.applyIn(tx, tenantId, 'payment_failed', who);
        return;
      case 'customer.subscription.created':
      case 'customer.subscription.updated': {
        const subscriptionRef = idOf(object.id);
        if (subscriptionRef) await this.#undoIfExpiredIncomplete(tx, tenantId, subscriptionRef, object, who);
        const ended = object.status === 'canceled' || object.status === 'incomplete_expired';
        if (!subscriptionRef || ended) return;
        await tx.updateTable('billing_accounts').set({ subscription_ref: subscriptionRef, updated_at: now }).where('tenant_id', '=', tenantId).execute();
        // The local periods follow a running subscription's cycle (cut where Stripe's period began).
        if (CYCLING_SUBSCRIPTION_STATUSES.has(object.status)) await followSubscriptionAnchor(tx, tenantId, subscriptionRef, object, created, who);
        return;
      }
      case 'customer.subscription.deleted': {
        const subscriptionRef = idOf(object.id);
        if (subscriptionRef) await this.#undoIfExpiredIncomplete(tx, tenantId, subscriptionRef, object, who);
        // Only the tenant's current subscription: one it replaced ending changes nothing.
        if (subscriptionRef !== account.subscription_ref) return;
        await this.#endSubscription(tx, tenantId, who);
        return;
      }
    }
  }

  /**
   * A subscription that expired before its first payment never ran a cycle: a move of the anchor
   * it made (before only running subscriptions moved it) is undone (subscription-anchor.ts).
   * Stripe may say so with an update or with the deletion, so both ask.
   */
  async #undoIfExpiredIncomplete(tx: BillingTx, tenantId: string, subscriptionRef: string, subscription: Record<string, unknown>, who: SystemActor): Promise<void> {
    if (subscription.status === 'incomplete_expired') await undoSubscriptionAnchor(tx, tenantId, subscriptionRef, this.clock.now(), who);
  }

  /**
   * The plan the Checkout session was created for (POST /v1/billing/checkout put it in the
   * session's metadata, and the tenant in client_reference_id), applied by the rules of
   * PATCH /v1/tenant/plan in this unit: upgrade now, downgrade now or at the period's end, or
   * refused. A session that names another tenant changes no plan. Redelivery is a duplicate
   * event, and choosing the plan the tenant is on changes nothing (it cancels a waiting
   * downgrade, as choosing it again through PATCH does).
   */
  async #applyCheckoutPlan(tx: BillingTx, tenantId: string, session: Record<string, unknown>, who: SystemActor): Promise<void> {
    const metadata = (session.metadata ?? {}) as Record<string, unknown>;
    const plan = typeof metadata.plan === 'string' && /^[a-z][a-z0-9_-]{0,39}$/.test(metadata.plan) ? metadata.plan : undefined;
    if (!plan) return;
    const refuse = async (code: string, detail: string) => {
      this.logger.warn({ tenantId, plan, code, sessionId: idOf(session.id) }, `Checkout's plan not applied: ${detail}`);
      await unsafeRecordAuditForTenant(platformTx(tx), tenantId, who, {
        action: 'billing.checkout_plan_refused',
        target: 'plan',
        before: null,
        after: { plan, code, detail, session: idOf(session.id) ?? null },
      });
    };
    const named = [session.client_reference_id, metadata.tenant_id].filter((value) => value !== undefined && value !== null);
    if (named.some((value) => value !== tenantId)) return refuse('conflict', 'the session names another tenant than its customer');
    if (!this.prices[plan]) return refuse('conflict', `plan "${plan}" is not sold through Stripe (it has no price)`);
    // A session completed late (Stripe retried it for hours) must not undo a plan change the
    // tenant made after opening it: the later choice stands.
    const openedAt = typeof session.created === 'number' ? new Date(session.created * 1000) : undefined;
    if (openedAt) {
      const later = await tx
        .selectFrom('billing_plan_changes')
        .select('changed_at')
        .where('tenant_id', '=', tenantId)
        .where('changed_at', '>', openedAt)
        .where('deleted_at', 'is', null)
        .limit(1)
        .executeTakeFirst();
      if (later) return refuse('conflict', `the plan changed (${later.changed_at.toISOString()}) after the session was opened`);
    }
    try {
      await this.planChanges.requestIn(tx, tenantId, plan, who);
    } catch (error) {
      if (error instanceof AppError && CHECKOUT_PLAN_REFUSALS.has(error.code)) return refuse(error.code, error.message);
      throw error;
    }
  }

  /** The paid plan ends with its subscription; unpaid invoices stay with dunning. */
  async #endSubscription(tx: BillingTx, tenantId: string, who: SystemActor): Promise<void> {
    const now = this.clock.now();
    // A downgrade waiting for the period's end has nothing left to wait for (the plan is free now).
    await tx.updateTable('billing_accounts').set({ subscription_ref: null, scheduled_plan: null, scheduled_at: null, scheduled_by: null, updated_at: now }).where('tenant_id', '=', tenantId).execute();
    const tenant = await tx.selectFrom('tenants').select('plan').where('id', '=', tenantId).forUpdate().executeTakeFirstOrThrow();
    if (tenant.plan === PLAN_WITHOUT_SUBSCRIPTION) return;
    await tx.updateTable('tenants').set({ plan: PLAN_WITHOUT_SUBSCRIPTION, updated_at: now }).where('id', '=', tenantId).execute();
    await recordPlanChange(tx, tenantId, tenant.plan, PLAN_WITHOUT_SUBSCRIPTION, now);
    await unsafeRecordAuditForTenant(platformTx(tx), tenantId, who, {
      action: 'billing.subscription_ended',
      target: 'tenant_plan',
      before: { plan: tenant.plan },
      after: { plan: PLAN_WITHOUT_SUBSCRIPTION },
    });
    // The plan is cached with the tenant's access on every instance.
    await recordEffect(platformTx(tx), tenantId, { topic: CACHE_INVALIDATION_TOPIC, payload: { scope: 'tenant', tenantId } });
  }
}

function isHandled(type: string): type is HandledType {
  return (HANDLED_EVENT_TYPES as readonly string[]).includes(type);
}

/** Stripe sends a reference as its id, or as the object when expanded. */
function idOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0 && value.length <= 255) return value;
  if (value && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string') return idOf((value as { id: string }).id);
  return undefined;
}
