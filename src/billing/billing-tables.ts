// Row types of the billing module's tables (its migrations are ./migrations), checked against
// the migrated catalog by test/billing/billing-tables.test.ts. Billing code queries through
// `db.withTables<BillingTables>()`.

import type { ColumnType, Generated } from 'kysely';
import type { Database, Tx } from '../db/database.js';
import type { CreatedAt, DefaultedJson, NullableTimestamp, Tables, TenantId, UpdatedAt } from '../db/tables.js';

export type BillingProviderName = 'local' | 'stripe';
export type InvoiceStatus = 'draft' | 'open' | 'paid' | 'void';
export type InvoiceLineKind = 'plan' | 'overage';

/** A bigint column: read as a string by the driver, written as a number. */
type Cents = ColumnType<string, number, number>;

export interface BillingAccountsTable {
  tenant_id: TenantId;
  id: string;
  provider: BillingProviderName;
  customer_ref: string | null;
  subscription_ref: string | null;
  has_payment_method: Generated<boolean>;
  /** A completed Checkout's SetupIntent whose payment method is still to become the customer's default. */
  payment_method_setup_ref: string | null;
  scheduled_plan: string | null;
  /** When the scheduled plan applies (the end of the period it was asked in); set with scheduled_plan. */
  scheduled_at: NullableTimestamp;
  /** Who asked for the scheduled change (an actor label), for the audit row written when it applies. */
  scheduled_by: string | null;
  past_due_since: NullableTimestamp;
  /** The `created` of the last ordered provider event applied (with Stripe: its invoices'). */
  provider_event_at: NullableTimestamp;
  /** The `created` of the last Stripe subscription event applied, ordered apart (billing 0008). */
  subscription_event_at: NullableTimestamp;
  /** Each move of the billing anchor to the subscription's, oldest cut first (billing 0007). */
  anchor_cuts: DefaultedJson<StoredAnchorCut[]>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  deleted_at: NullableTimestamp;
}

/** One move of tenants.billing_anchor, as kept on the account (ISO instants). */
export interface StoredAnchorCut {
  readonly from_anchor: string;
  readonly to_anchor: string;
  /** Where the local periods were cut: the running one ended here, the next began. */
  readonly cut_at: string;
  readonly subscription_ref: string;
  /** The `created` of the event that moved it. */
  readonly event_created_at: string;
}

export interface InvoicesTable {
  tenant_id: TenantId;
  id: string;
  period_start: Date;
  period_end: Date;
  plan: string;
  currency: Generated<string>;
  status: InvoiceStatus;
  total_cents: Cents;
  issued_at: NullableTimestamp;
  paid_at: NullableTimestamp;
  voided_at: NullableTimestamp;
  payment_failed_at: NullableTimestamp;
  provider_ref: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  deleted_at: NullableTimestamp;
}

export interface InvoiceLinesTable {
  tenant_id: TenantId;
  id: string;
  invoice_id: string;
  position: number;
  kind: InvoiceLineKind;
  metric: string | null;
  description: string;
  quantity: Cents;
  included: ColumnType<string | null, number | null, number | null>;
  unit_price_millicents: ColumnType<string | null, number | null, number | null>;
  amount_cents: Cents;
  created_at: CreatedAt;
  deleted_at: NullableTimestamp;
}

export interface ProviderEventsTable {
  tenant_id: TenantId;
  id: string;
  provider: 'stripe';
  event_id: string;
  event_type: string;
  event_created_at: Date;
  applied: boolean;
  /** The object an invoice event is about (Stripe's in_...); null for other events. */
  object_ref: ColumnType<string | null, string | null | undefined, string | null>;
  /** An invoice event: the instant naming the local period its invoice belongs to. */
  period_at: NullableTimestamp;
  created_at: CreatedAt;
  deleted_at: NullableTimestamp;
}

export interface UsageReportsTable {
  tenant_id: TenantId;
  id: string;
  invoice_id: string;
  metric: string;
  period_start: Date;
  period_end: Date;
  quantity: Cents;
  identifier: string;
  reported_at: NullableTimestamp;
  created_at: CreatedAt;
  deleted_at: NullableTimestamp;
}

export interface PlanChangesTable {
  tenant_id: TenantId;
  id: string;
  from_plan: string;
  to_plan: string;
  /** When the tenant moved to to_plan. */
  changed_at: Date;
  created_at: CreatedAt;
  deleted_at: NullableTimestamp;
}

export interface BillingTables {
  billing_accounts: BillingAccountsTable;
  billing_invoices: InvoicesTable;
  billing_invoice_lines: InvoiceLinesTable;
  billing_provider_events: ProviderEventsTable;
  billing_usage_reports: UsageReportsTable;
  billing_plan_changes: PlanChangesTable;
}

/** The database and unit-of-work handle billing code is typed against. */
export type BillingDatabase = Database<Tables & BillingTables>;
export type BillingTx = Tx<Tables & BillingTables>;
