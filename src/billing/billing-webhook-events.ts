// Billing's events as tenant webhooks: every announcement billing records in its outbox is also
// published to the tenant's webhook endpoints in the same transaction (the webhooks module's
// own outbox), so a tenant's receiver hears of a state change, an invoice or a plan change
// exactly when it commits. Webhook type names are dotted lowercase, hence `_` where the outbox
// topics have `-`.

import type { Tx } from '../db/database.js';
import { recordEffect } from '../outbox/record-effect.js';
import { publishTenantEvent } from '../webhooks/publish-tenant-event.js';
import {
  BILLING_STATE_CHANGED,
  INVOICE_ISSUED,
  PLAN_CHANGED,
  type BillingStateChanged,
  type InvoiceIssued,
  type PlanChanged,
} from './billing-events.js';

type Payload<E> = Omit<E, 'topic' | 'tenantId'>;

declare module '../webhooks/tenant-event.js' {
  interface TenantEventTypes {
    /** The tenant's billing state moved (active, past_due, suspended) and why. */
    'billing.state_changed': Payload<BillingStateChanged>;
    /** An invoice was issued (open, or paid at once when it is 0). */
    'billing.invoice_issued': Payload<InvoiceIssued>;
    /** The tenant's plan changed. */
    'plan.changed': Payload<PlanChanged>;
  }
}

/** Records a state change for billing's subscribers and the tenant's webhooks, in `tx`. */
export async function announceStateChange(tx: Tx, tenantId: string, event: Payload<BillingStateChanged>): Promise<void> {
  // Independent rows: sent together, pipelined on the unit's connection.
  await Promise.all([
    recordEffect(tx, tenantId, { topic: BILLING_STATE_CHANGED, payload: event }),
    publishTenantEvent(tx, tenantId, { type: 'billing.state_changed', data: event }),
  ]);
}

/** Records an issued invoice; the webhook event is published once per invoice (its id is the key). */
export async function announceInvoiceIssued(tx: Tx, tenantId: string, event: Payload<InvoiceIssued>): Promise<void> {
  await recordEffect(tx, tenantId, { topic: INVOICE_ISSUED, payload: event });
  await publishTenantEvent(tx, tenantId, { type: 'billing.invoice_issued', data: event, key: `billing.invoice_issued:${event.invoiceId}` });
}

export async function announcePlanChange(tx: Tx, tenantId: string, event: Payload<PlanChanged>): Promise<void> {
  await recordEffect(tx, tenantId, { topic: PLAN_CHANGED, payload: event });
  await publishTenantEvent(tx, tenantId, { type: 'plan.changed', data: event });
}
