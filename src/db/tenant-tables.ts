// The tables that hold tenant data, children before parents: each has tenant_id, RLS
// enabled and forced, and is filtered by the query layer. Soft delete stamps them in this
// order and purge deletes in it. Catalog tests fail when a tenant table is missing here.

export const TENANT_TABLE_ORDER = [
  'outbox',
  'usage_rollup_queue',
  'usage_warnings',
  'usage_counters',
  'usage_rollups',
  'usage_events',
  'tasks',
  'project_members',
  'projects',
  'api_keys',
  'invitations',
  'memberships',
  'flag_overrides',
  'audit_log',
] as const;

export type TenantTable = (typeof TENANT_TABLE_ORDER)[number];

export const TENANT_TABLES: ReadonlySet<string> = new Set(TENANT_TABLE_ORDER);

export const TENANT_COLUMN = 'tenant_id';
