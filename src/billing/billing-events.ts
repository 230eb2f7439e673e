// What billing announces, for other modules to act on (outbound tenant webhooks, email): each
// event is recorded in the outbox in the transaction that made the change, and delivered after
// commit, at least once, to every subscriber. Subscribers must be idempotent: the outbox id of
// the message names it.

import type { TenantStatus } from '../db/tables.js';
import type { OutboxConsumer, OutboxMessage } from '../outbox/outbox-message.js';

/** A tenant's billing state moved (active, past_due, suspended). */
export const BILLING_STATE_CHANGED = 'billing.state-changed';
/** An invoice was closed and is due. */
export const INVOICE_ISSUED = 'billing.invoice-issued';
/** A tenant's plan changed (at once, or a scheduled downgrade at its period's end). */
export const PLAN_CHANGED = 'billing.plan-changed';

/** Why a tenant's billing state moved. */
export type BillingStateCause = 'payment_failed' | 'grace_period_ended' | 'payment_succeeded' | 'operator_suspended' | 'operator_reactivated';

export interface BillingStateChanged {
  readonly topic: typeof BILLING_STATE_CHANGED;
  readonly tenantId: string;
  readonly from: TenantStatus;
  readonly to: TenantStatus;
  readonly cause: BillingStateCause;
  /** ISO 8601. */
  readonly at: string;
}

export interface InvoiceIssued {
  readonly topic: typeof INVOICE_ISSUED;
  readonly tenantId: string;
  readonly invoiceId: string;
  readonly totalCents: number;
  readonly currency: string;
  readonly periodStart: string;
  readonly periodEnd: string;
}

/** Why a tenant's plan changed. */
export type PlanChangeCause = 'upgrade' | 'downgrade' | 'scheduled_downgrade' | 'operator';

export interface PlanChanged {
  readonly topic: typeof PLAN_CHANGED;
  readonly tenantId: string;
  readonly from: string;
  readonly to: string;
  readonly cause: PlanChangeCause;
  /** ISO 8601. */
  readonly at: string;
}

export type BillingEvent = BillingStateChanged | InvoiceIssued | PlanChanged;

/** A subscriber gets the event and the outbox id that names it (for de-duplication). */
export type BillingEventListener = (event: BillingEvent, messageId: string) => Promise<void>;

/**
 * The fan-out of billing's outbox topics. Built once per app (services.ts), its consumer is the
 * relay's for both topics; a module subscribes when it is composed. With no subscriber an event
 * is delivered to no one and done.
 */
export class BillingEvents {
  readonly #listeners: BillingEventListener[] = [];

  subscribe(listener: BillingEventListener): void {
    this.#listeners.push(listener);
  }

  /** For the relay: a subscriber that throws fails the message, which is retried for all. */
  readonly outboxConsumer: OutboxConsumer = async (message: OutboxMessage) => {
    const event = { ...(message.payload as object), topic: message.topic, tenantId: message.tenantId } as BillingEvent;
    for (const listener of this.#listeners) await listener(event, message.id);
  };
}
