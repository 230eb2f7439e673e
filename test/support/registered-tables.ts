// The tenant tables the route-driven isolation suites seed, attack and snapshot, read in
// this one place so the suites follow whatever set of tables the app registers.

import { TENANT_TABLE_ORDER } from '../../src/db/tenant-tables.js';

// TODO(issue 10): return the tenant tables of the registered modules once the module registry replaces TENANT_TABLE_ORDER.
export function registeredTenantTables(): readonly string[] {
  return TENANT_TABLE_ORDER;
}
