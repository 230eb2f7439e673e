// A tenant's rows outside its tenant tables: global tables about people that record the tenant
// a row was made for (the mail sent for it). Erasing or purging the tenant deletes them with
// its tenant tables, in the same service unit.

import { sql } from 'kysely';
import type { Tx } from '../../db/database.js';
import type { PersonTableDeclaration } from '../../modules/module.js';

/** Returns the rows deleted per table (every table with a tenant column is listed). */
export async function deleteTenantsFromPersonTables(tx: Tx, tables: readonly PersonTableDeclaration[], tenantIds: readonly string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  if (tenantIds.length === 0) return counts;
  for (const table of tables) {
    if (!table.tenantColumn) continue;
    const result = await sql`DELETE FROM ${sql.table(table.name)} WHERE ${sql.ref(table.tenantColumn)} = ANY(${tenantIds}::uuid[])`.execute(tx);
    counts[table.name] = Number(result.numAffectedRows ?? 0n);
  }
  return counts;
}
