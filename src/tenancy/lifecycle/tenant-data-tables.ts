// Every table that holds a tenant's rows, children before parents: soft delete stamps them
// all, purge deletes them in this order. A catalog test fails when a tenant table is missing.

export const TENANT_DATA_TABLES = ['tasks', 'project_members', 'projects', 'api_keys', 'memberships'] as const;

export type TenantDataTable = (typeof TENANT_DATA_TABLES)[number];
