// The tenant tables as lifecycle work walks them (children first). One list, kept in the
// data layer beside the query filter, so deletion and isolation can never disagree.

export { TENANT_TABLE_ORDER as TENANT_DATA_TABLES, type TenantTable as TenantDataTable } from '../../db/tenant-tables.js';
