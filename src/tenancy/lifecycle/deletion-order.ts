// The order purge deletes a tenant's rows in, derived from the foreign keys PostgreSQL has
// between the registered tenant tables: a table comes before every table it references, so no
// delete trips a constraint. Read in the purge's own transaction, so it is the schema purge runs against.

import { sql } from 'kysely';
import type { Tx } from '../../db/database.js';

export class ForeignKeyCycleError extends Error {
  override name = 'ForeignKeyCycleError';
}

/** `tables` ordered children first; ties keep the order given (the modules' declaration order). */
export async function deletionOrder(tx: Tx, tables: ReadonlySet<string>): Promise<string[]> {
  const names = [...tables];
  const { rows } = await sql<{ child: string; parent: string }>`
    SELECT child.relname AS child, parent.relname AS parent
      FROM pg_catalog.pg_constraint c
      JOIN pg_catalog.pg_class child ON child.oid = c.conrelid
      JOIN pg_catalog.pg_class parent ON parent.oid = c.confrelid
     WHERE c.contype = 'f'
       AND child.relnamespace = 'public'::regnamespace AND parent.relnamespace = 'public'::regnamespace
       AND child.relname = ANY(${names}) AND parent.relname = ANY(${names})
       AND child.oid <> parent.oid`.execute(tx);
  return childrenFirst(names, rows);
}

/** Kahn's algorithm: repeatedly take the first table nothing remaining references. */
function childrenFirst(tables: readonly string[], references: readonly { child: string; parent: string }[]): string[] {
  const referencedBy = new Map(tables.map((table) => [table, new Set<string>()]));
  for (const { child, parent } of references) referencedBy.get(parent)!.add(child);
  const ordered: string[] = [];
  const remaining = [...tables];
  while (remaining.length > 0) {
    const index = remaining.findIndex((table) => [...referencedBy.get(table)!].every((child) => ordered.includes(child)));
    if (index === -1) throw new ForeignKeyCycleError(`tenant tables reference each other in a cycle: ${remaining.join(', ')}`);
    ordered.push(...remaining.splice(index, 1));
  }
  return ordered;
}
