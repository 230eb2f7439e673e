// Applies the registered tenant tables' erasure policies to one person's rows, as the service
// role (append-only tables such as audit_log and memory_versions refuse the app role's
// updates). Every statement names its tenant when the erasure is confined to one (a departed
// member); otherwise it reaches every tenant the person's rows are in.
//
// Which rows: a column declared in `identifies` matches the person by its kind (user id, email,
// actor label) and gets its own policy there; every other `personal` column gets its policy
// where its value mentions the person (their email or id anywhere in it, their name as a whole
// word). Updates run first, then deletes, children first (the foreign keys' order), so a row
// pointing at a membership loses that pointer before the membership goes.

import { sql, type RawBuilder } from 'kysely';
import type { Tx } from '../../db/database.js';
import type { ErasurePolicy, PersonReference } from '../../modules/module.js';
import type { RegisteredTenantTable } from '../../modules/registry.js';
import { deletionOrder } from '../../tenancy/lifecycle/deletion-order.js';
import type { TableErasure } from './certificate.js';
import { SHORTEST_SEARCHED_NAME, type ErasedPerson } from './erased-person.js';

export class ErasurePolicyError extends Error {
  override name = 'ErasurePolicyError';
}

export interface Target {
  readonly person: ErasedPerson;
  readonly pseudonym: string;
  /** Confine every statement to this tenant; undefined: every tenant. */
  readonly tenantId: string | undefined;
}

/** Whether `column` (of kind `reference`) names the person. */
export function names(column: string, reference: PersonReference, { person }: Target): RawBuilder<boolean> {
  const ref = sql.ref(column);
  switch (reference) {
    case 'user_id':
      return sql<boolean>`${ref} = ${person.userId}::uuid`;
    case 'email':
      return sql<boolean>`lower(${ref}) = lower(${person.email})`;
    case 'actor':
      return sql<boolean>`${ref} = ${`user:${person.userId}`}`;
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

/** Whether the column's value, as text, mentions the person anywhere. */
export function mentions(column: string, { person }: Target): RawBuilder<boolean> {
  const text = sql`lower(${sql.ref(column)}::text)`;
  const found = [sql`position(${person.email.toLowerCase()} in ${text}) > 0`, sql`position(${person.userId} in ${text}) > 0`];
  const name = person.name.trim().toLowerCase();
  if (name.length >= SHORTEST_SEARCHED_NAME) found.push(sql`${text} ~ ${`\\m${escapeRegex(name)}\\M`}`);
  return sql<boolean>`(${sql.join(found, sql` OR `)})`;
}

/** The value a pseudonymised column gets, by what it holds. */
function pseudonymValue(type: string, reference: PersonReference | undefined, { pseudonym }: Target, where: string): RawBuilder<unknown> {
  const text = reference === 'email' ? `${pseudonym}@erased.invalid` : reference === 'actor' ? `erased:${pseudonym}` : pseudonym;
  switch (type) {
    case 'text':
    case 'varchar':
    case 'citext':
      return sql`${text}`;
    case 'jsonb':
      return sql`to_jsonb(${text}::text)`;
    case '_text':
      return sql`ARRAY[${text}::text]`;
    default:
      throw new ErasurePolicyError(`${where} is declared 'pseudonymise' but holds ${type}; declare 'null' or 'delete'`);
  }
}

async function columnTypes(tx: Tx, tables: readonly string[]): Promise<Map<string, string>> {
  const { rows } = await sql<{ table_name: string; column_name: string; udt_name: string }>`
    SELECT table_name, column_name, udt_name FROM information_schema.columns
     WHERE table_schema = 'public' AND table_name = ANY(${tables})`.execute(tx);
  return new Map(rows.map((row) => [`${row.table_name}.${row.column_name}`, row.udt_name]));
}

function confined(condition: RawBuilder<boolean>, target: Target): RawBuilder<boolean> {
  return target.tenantId ? sql<boolean>`${condition} AND tenant_id = ${target.tenantId}::uuid` : condition;
}

/** Runs in a db.service() unit. Returns, per table, the rows deleted and the column updates made. */
export async function erasePersonRows(tx: Tx, declarations: readonly RegisteredTenantTable[], target: Target): Promise<Record<string, TableErasure>> {
  const withPolicy = declarations.filter((table) => Object.keys(table.personal ?? {}).length > 0);
  const types = await columnTypes(tx, withPolicy.map((table) => table.name));
  const counts = new Map<string, { deleted: number; updated: number }>();
  const count = (table: string) => counts.get(table) ?? counts.set(table, { deleted: 0, updated: 0 }).get(table)!;
  const deletions: Array<{ table: string; condition: RawBuilder<boolean> }> = [];

  for (const table of withPolicy) {
    for (const [column, policy] of Object.entries(table.personal ?? {}) as Array<[string, ErasurePolicy]>) {
      const where = `${table.name}.${column}`;
      const type = types.get(where);
      if (!type) throw new ErasurePolicyError(`${where} is declared personal but does not exist`);
      const reference = table.identifies?.[column];
      const condition = confined(reference ? names(column, reference, target) : mentions(column, target), target);
      if (policy === 'delete') {
        if (!reference) throw new ErasurePolicyError(`${where} is declared 'delete' but names no person (declare it in identifies)`);
        deletions.push({ table: table.name, condition });
        continue;
      }
      const value = policy === 'null' ? sql`NULL` : pseudonymValue(type, reference, target, where);
      const result = await sql`UPDATE ${sql.table(table.name)} SET ${sql.ref(column)} = ${value} WHERE ${condition}`.execute(tx);
      count(table.name).updated += Number(result.numAffectedRows ?? 0n);
    }
  }

  const order = await deletionOrder(tx, new Set(deletions.map((deletion) => deletion.table)));
  for (const table of order) {
    for (const deletion of deletions.filter((candidate) => candidate.table === table)) {
      const result = await sql`DELETE FROM ${sql.table(table)} WHERE ${deletion.condition}`.execute(tx);
      count(table).deleted += Number(result.numAffectedRows ?? 0n);
    }
  }
  return Object.fromEntries([...counts].filter(([, erased]) => erased.deleted + erased.updated > 0));
}
