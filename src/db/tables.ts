// Row types of the platform's tables, as Kysely sees them. One interface per table; the
// `Tables` map is what query builders are typed against. A module keeps its own tables'
// types beside it and widens a handle with `db.withTables<ItsTables>()`; the column types
// exported here (CreatedAt, TenantId, ...) are the vocabulary both use.

import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
export type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
/** NOT NULL with no DEFAULT: an insert must write it, nothing may clear it. */
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
export type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
export type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** JSON text in, the parsed value out; NOT NULL with no DEFAULT, so an insert must write it. */
export type Json<T> = ColumnType<T, string, string>;
export type DefaultedJson<T> = ColumnType<T, string | undefined, string>;
/**
 * tenant_id of a tenant table: the query layer fills it on insert from the scoped
 * transaction and filters by it on every read and write, so code never writes it.
 */
export type TenantId = ColumnType<string, string | undefined, never>;

export type Role = 'owner' | 'admin' | 'member' | 'viewer';
export type TenantStatus = 'active' | 'past_due' | 'suspended' | 'deleted';

export interface TenantsTable {
  id: string;
  name: string;
  slug: string;
  subdomain: string | null;
  plan: Generated<string>;
  settings: DefaultedJson<Record<string, unknown>>;
  branding: DefaultedJson<Record<string, unknown>>;
  status: Generated<TenantStatus>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  deleted_at: NullableTimestamp;
  /** Where the tenant's billing periods are counted from: its subscription's start (migration 0013). */
  billing_anchor: Generated<Date>;
}

export interface UsersTable {
  id: string;
  email: string;
  name: Generated<string>;
  password_hash: string | null;
  status: Generated<'active' | 'invited' | 'disabled'>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  deleted_at: NullableTimestamp;
}

/** A view: what tenant resolution may read of every live tenant (migration 0010). */
export interface TenantRegistryView {
  id: ColumnType<string, never, never>;
  slug: ColumnType<string, never, never>;
  subdomain: ColumnType<string | null, never, never>;
  status: ColumnType<TenantStatus, never, never>;
}

/** A view: the sign-in credentials of the one account whose email the unit names (migration 0010). */
export interface UserCredentialsView {
  id: ColumnType<string, never, never>;
  status: ColumnType<'active' | 'invited' | 'disabled', never, never>;
  password_hash: ColumnType<string | null, never, never>;
}

export interface MembershipsTable {
  tenant_id: TenantId;
  user_id: string;
  role: Role;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  deleted_at: NullableTimestamp;
}

export interface InvitationsTable {
  tenant_id: TenantId;
  id: string;
  email: string;
  role: Role;
  token_hash: Buffer;
  invited_by: string | null;
  created_at: CreatedAt;
  expires_at: Timestamp;
  accepted_at: NullableTimestamp;
  accepted_by: string | null;
  deleted_at: NullableTimestamp;
}

export interface SessionsTable {
  id: string;
  family_id: string;
  token_hash: Buffer;
  user_id: string;
  active_tenant_id: string | null;
  created_at: CreatedAt;
  expires_at: Timestamp;
  rotated_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface ApiKeysTable {
  tenant_id: TenantId;
  id: string;
  prefix: string;
  secret_hash: Buffer;
  name: string;
  kind: Generated<'user' | 'agent'>;
  role: Generated<Role>;
  scopes: Generated<string[]>;
  /** The person the key acts for. Null only on revoked keys from before every key had one. */
  created_by: string | null;
  /** The key this one was minted with (it has the same creator), or null when a person made it. */
  created_by_key_id: ColumnType<string | null, string | null | undefined, never>;
  /** The agent the key acts as (kind `agent`), or null; fixed for the life of the key. */
  agent_id: ColumnType<string | null, string | null | undefined, never>;
  created_at: CreatedAt;
  expires_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  deleted_at: NullableTimestamp;
}

export interface ServiceRoleAuditTable {
  id: string;
  reason: string;
  actor: string;
  request_id: string | null;
  target_tenant_id: string | null;
  created_at: CreatedAt;
}

export type Aggregation = 'sum' | 'count' | 'max' | 'unique_count';
/** numeric columns: pg returns them as strings, to keep their precision. */
type Numeric = ColumnType<string, number | string, number | string>;

export interface UsageMetricsTable {
  key: string;
  unit: string;
  aggregation: Aggregation;
  unique_by: string | null;
  resets: Generated<boolean>;
  enforcement: Generated<'hard' | 'soft'>;
  description: Generated<string>;
  created_at: CreatedAt;
}

export interface UsageEventsTable {
  tenant_id: TenantId;
  idempotency_key: string;
  metric: string;
  quantity: Numeric;
  occurred_at: Timestamp;
  unique_value: string | null;
  properties: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  deleted_at: NullableTimestamp;
}

export interface UsageRollupsTable {
  tenant_id: TenantId;
  metric: string;
  granularity: 'hour' | 'day';
  bucket_start: Timestamp;
  event_count: ColumnType<string, number | string, number | string>;
  quantity_sum: Numeric;
  quantity_max: Numeric;
  unique_count: ColumnType<string | null, number | string | null, number | string | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  deleted_at: NullableTimestamp;
}

export interface UsageCountersTable {
  tenant_id: TenantId;
  metric: string;
  period_start: Timestamp;
  used: Numeric;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  deleted_at: NullableTimestamp;
}

export interface UsageWarningsTable {
  tenant_id: TenantId;
  metric: string;
  period_start: Timestamp;
  threshold: 80 | 100;
  used: Numeric;
  limit_value: Numeric;
  created_at: CreatedAt;
  deleted_at: NullableTimestamp;
}

/** Keys of events not rolled up yet: queued by a trigger on usage_events, deleted by the rollup. */
export interface UsageRollupQueueTable {
  tenant_id: TenantId;
  idempotency_key: string;
  queued_at: CreatedAt;
  deleted_at: NullableTimestamp;
}

/** Effects written with a change and delivered after commit by the outbox relay (src/outbox). */
export interface OutboxTable {
  tenant_id: TenantId;
  id: string;
  topic: string;
  payload: DefaultedJson<unknown>;
  attempts: Generated<number>;
  available_at: DefaultedTimestamp;
  last_error: string | null;
  dead_at: NullableTimestamp;
  created_at: CreatedAt;
  deleted_at: NullableTimestamp;
}

/** One row, locked by the rollup run in progress so runs never overlap. */
export interface UsageRollupStateTable {
  id: Generated<boolean>;
  updated_at: UpdatedAt;
}

/** Flush units of the API-call meter already added into rollups: a unit sent again adds nothing. */
export interface ApiCallFlushesTable {
  id: string;
  flushed_at: CreatedAt;
}

export interface PlansTable {
  key: string;
  name: string;
  /** null: custom price. */
  monthly_price_cents: number | null;
  /** {metric: limit}; null means unlimited (the only meaning of unlimited). */
  limits: DefaultedJson<Record<string, number | null>>;
  /** null: unlimited. */
  api_rate_limit_per_minute: number | null;
  settings: DefaultedJson<Record<string, unknown>>;
  sort_order: number;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  /** {metric: {included, unit_price_millicents}}: what a period includes, the price of each unit past it (migration 0013). */
  metered_prices: DefaultedJson<Record<string, MeteredPriceRow>>;
  /** Set when the operator retires the plan: no new tenant may choose it; those on it keep it (migration 0019). */
  retired_at: NullableTimestamp;
}

/** What a plan includes of a metric per billing period, and each further unit's price in thousandths of a cent. */
export interface MeteredPriceRow {
  readonly included: number;
  readonly unit_price_millicents: number;
}

export type FlagKind = 'boolean' | 'variant' | 'rollout';

export interface FlagDefinitionsTable {
  key: string;
  kind: FlagKind;
  description: Generated<string>;
  default_value: Json<unknown>;
  rollout_basis_points: number | null;
  bucket_by: Generated<'tenantId' | 'userId'>;
  tenant_editable: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface FlagPlanDefaultsTable {
  flag_key: string;
  plan_key: string;
  value: Json<unknown>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface FlagOverridesTable {
  tenant_id: TenantId;
  id: string;
  flag_key: string;
  value: Json<unknown>;
  created_by: string;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  deleted_at: NullableTimestamp;
}

export interface AuditLogTable {
  tenant_id: TenantId;
  id: string;
  actor: string;
  action: string;
  target: string;
  before: Json<unknown> | null;
  after: Json<unknown> | null;
  request_id: string | null;
  created_at: CreatedAt;
  deleted_at: NullableTimestamp;
}

/** The same entry as audit_log, for platform data no tenant owns. */
export type PlatformAuditLogTable = Omit<AuditLogTable, 'tenant_id' | 'deleted_at'>;

export interface Tables {
  tenants: TenantsTable;
  users: UsersTable;
  tenant_registry: TenantRegistryView;
  user_credentials: UserCredentialsView;
  memberships: MembershipsTable;
  invitations: InvitationsTable;
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  service_role_audit: ServiceRoleAuditTable;
  plans: PlansTable;
  flag_definitions: FlagDefinitionsTable;
  flag_plan_defaults: FlagPlanDefaultsTable;
  flag_overrides: FlagOverridesTable;
  audit_log: AuditLogTable;
  platform_audit_log: PlatformAuditLogTable;
  usage_metrics: UsageMetricsTable;
  usage_events: UsageEventsTable;
  usage_rollups: UsageRollupsTable;
  usage_counters: UsageCountersTable;
  usage_warnings: UsageWarningsTable;
  usage_rollup_queue: UsageRollupQueueTable;
  usage_rollup_state: UsageRollupStateTable;
  api_call_flushes: ApiCallFlushesTable;
  outbox: OutboxTable;
}

export type Tenant = Selectable<TenantsTable>;
export type User = Selectable<UsersTable>;
/** A user as the app role may read it: every column but the password hash. */
export type UserAccount = Omit<User, 'password_hash'>;
export type TenantRegistryEntry = Selectable<TenantRegistryView>;
export type Membership = Selectable<MembershipsTable>;
export type Invitation = Selectable<InvitationsTable>;
export type ApiKey = Selectable<ApiKeysTable>;
export type NewTenant = Insertable<TenantsTable>;
