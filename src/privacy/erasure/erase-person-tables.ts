// Erasure in the modules' global tables about a person (their tokens, proven addresses,
// devices, pending sign-ups, mail): rows that name the person or mention them are deleted.
// Erasing the person reaches every such row; erasing a departed member only the rows made for
// that tenant (tables without a tenant column are the person's own and stay with the account).

import { sql, type RawBuilder } from 'kysely';
import type { Tx } from '../../db/database.js';
import type { PersonTableDeclaration } from '../../modules/module.js';
import type { TableErasure } from './certificate.js';
import { mentions, names, type Target } from './erase-person-rows.js';

/** Runs in the erasure's db.service() unit. Returns the rows deleted per table. */
export async function erasePersonTables(tx: Tx, tables: readonly PersonTableDeclaration[], target: Target): Promise<Record<string, TableErasure>> {
  const counts: Record<string, TableErasure> = {};
  for (const table of tables) {
    if (target.tenantId && !table.tenantColumn) continue;
    const found: RawBuilder<boolean>[] = [
      ...Object.entries(table.identifies).map(([column, reference]) => names(column, reference, target)),
      ...(table.mentions ?? []).map((column) => mentions(column, target)),
    ];
    let condition = sql<boolean>`(${sql.join(found, sql` OR `)})`;
    if (target.tenantId) condition = sql<boolean>`${condition} AND ${sql.ref(table.tenantColumn!)} = ${target.tenantId}::uuid`;
    const result = await sql`DELETE FROM ${sql.table(table.name)} WHERE ${condition}`.execute(tx);
    const deleted = Number(result.numAffectedRows ?? 0n);
    if (deleted > 0) counts[table.name] = { deleted, updated: 0 };
  }
  return counts;
}
