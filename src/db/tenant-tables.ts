// The tables that hold tenant data: each has tenant_id, RLS enabled and forced, and is
// filtered by the query layer. A test checks this list against the database catalog.

export const TENANT_TABLES: ReadonlySet<string> = new Set([
  'memberships',
  'api_keys',
  'projects',
  'project_members',
  'tasks',
]);

export const TENANT_COLUMN = 'tenant_id';
