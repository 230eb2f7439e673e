// The invoices table's row types, in Tenantry's column vocabulary: tenant_id is never written
// by code (the query layer fills it), timestamps read as Date.

import type { Generated } from 'kysely';
import type { CreatedAt, Database, NullableTimestamp, Tables, TenantId, Timestamp, Tx, UpdatedAt } from 'tenantry';

export type InvoiceStatus = 'open' | 'overdue' | 'void';

export interface InvoicesTable {
  tenant_id: TenantId;
  id: string;
  number: string;
  customer_email: string;
  amount_cents: number;
  currency: string;
  status: Generated<InvoiceStatus>;
  due_at: Timestamp;
  voided_at: NullableTimestamp;
  created_by: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  deleted_at: NullableTimestamp;
}

export interface InvoiceTables {
  invoices: InvoicesTable;
}

export type InvoiceDatabase = Database<Tables & InvoiceTables>;
export type InvoiceTx = Tx<Tables & InvoiceTables>;
