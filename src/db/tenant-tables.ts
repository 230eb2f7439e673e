// The column every tenant table starts with. Which tables are tenant tables is not a list
// kept here: each module declares its own (src/modules/module.ts) and the registry collects
// them; the catalog tests check that the database agrees.

export const TENANT_COLUMN = 'tenant_id';
