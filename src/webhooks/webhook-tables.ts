// Row types of the webhooks module's tables (its migrations are ./migrations), in Tenantry's
// column vocabulary, checked against the migrated catalog by test/webhooks/webhook-tables.test.ts.

import type { ColumnType, Generated } from 'kysely';
import type { Database, Tx } from '../db/database.js';
import type { CreatedAt, NullableTimestamp, Tables, TenantId, UpdatedAt } from '../db/tables.js';

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';
export type AttemptOutcome = 'succeeded' | 'failed';

export interface WebhookEndpointsTable {
  tenant_id: TenantId;
  id: string;
  url: string;
  description: Generated<string>;
  event_types: ColumnType<string[] | null, string[] | null | undefined, string[] | null>;
  enabled: Generated<boolean>;
  secret_ciphertext: string;
  previous_secret_ciphertext: string | null;
  overlap_ends_at: NullableTimestamp;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  deleted_at: NullableTimestamp;
}

export interface WebhookEventsTable {
  tenant_id: TenantId;
  id: string;
  type: string;
  /** JSON text in, the parsed value out. */
  data: ColumnType<unknown, string, never>;
  dedup_key: ColumnType<string | null, string | null | undefined, never>;
  created_at: CreatedAt;
  deleted_at: NullableTimestamp;
}

export interface WebhookDeliveriesTable {
  tenant_id: TenantId;
  id: string;
  event_id: ColumnType<string, string, never>;
  endpoint_id: ColumnType<string, string, never>;
  status: Generated<DeliveryStatus>;
  attempts: Generated<number>;
  claimed_until: NullableTimestamp;
  next_attempt_at: NullableTimestamp;
  last_status_code: number | null;
  last_error: string | null;
  replay_of: ColumnType<string | null, string | null | undefined, never>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  deleted_at: NullableTimestamp;
}

export interface WebhookAttemptsTable {
  tenant_id: TenantId;
  id: string;
  delivery_id: ColumnType<string, string, never>;
  attempt: ColumnType<number, number, never>;
  outcome: ColumnType<AttemptOutcome, AttemptOutcome, never>;
  status_code: ColumnType<number | null, number | null | undefined, never>;
  duration_ms: ColumnType<number, number, never>;
  error: ColumnType<string | null, string | null | undefined, never>;
  response_body: ColumnType<string | null, string | null | undefined, never>;
  created_at: CreatedAt;
  deleted_at: NullableTimestamp;
}

export interface WebhookTables {
  webhook_endpoints: WebhookEndpointsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
}

/** A unit of work over the platform's tables and these (the module widens its handle once). */
export type WebhookTx = Tx<Tables & WebhookTables>;
export type WebhookDatabase = Database<Tables & WebhookTables>;
