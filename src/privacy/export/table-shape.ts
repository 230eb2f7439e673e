// What the export reads of a tenant table: its columns in order and its primary key, from the
// catalog PostgreSQL shows the app role, inside the tenant's own unit of work. The registry
// says which tables exist; the catalog says what they hold, so a module's new column is
// exported without anyone listing it.

import type { Tx } from '../../db/database.js';
import { TENANT_COLUMN } from '../../db/tenant-tables.js';

export interface TableColumn {
  readonly name: string;
  /** PostgreSQL's type name (udt_name): uuid, text, timestamptz, int4, _text, jsonb, ... */
  readonly type: string;
}

export interface TableShape {
  readonly table: string;
  /** Every column but tenant_id and the declared secrets, in table order. */
  readonly columns: readonly TableColumn[];
  /** The primary key without tenant_id, in key order: what pages are keyed by. Empty: one row per tenant. */
  readonly key: readonly TableColumn[];
}

/** Key types a page position may be cast back to (the raw-SQL allowlist's plain data types). */
const KEY_TYPES = new Set(['uuid', 'text', 'varchar', 'timestamptz', 'timestamp', 'date', 'int2', 'int4', 'int8', 'numeric', 'bool']);

export class UnexportableTableError extends Error {
  override name = 'UnexportableTableError';
}

/** Catalog views are not tenant tables: a Kysely typed over them only for these two reads. */
interface CatalogViews {
  'information_schema.columns': { table_schema: string; table_name: string; column_name: string; udt_name: string; ordinal_position: number };
  'information_schema.table_constraints': { table_schema: string; table_name: string; constraint_name: string; constraint_type: string };
  'information_schema.key_column_usage': { table_schema: string; table_name: string; constraint_name: string; column_name: string; ordinal_position: number };
}

export async function readTableShape(tx: Tx, table: string, secret: readonly string[]): Promise<TableShape> {
  const catalog = tx as unknown as Tx<CatalogViews>;
  const columns = await catalog
    .selectFrom('information_schema.columns')
    .select(['column_name', 'udt_name'])
    .where('table_schema', '=', 'public')
    .where('table_name', '=', table)
    .orderBy('ordinal_position')
    .execute();
  if (columns.length === 0) throw new UnexportableTableError(`tenant table "${table}" has no columns the app role can read`);
  const keyNames = await catalog
    .selectFrom('information_schema.key_column_usage as k')
    .innerJoin('information_schema.table_constraints as c', (join) =>
      join
        .onRef('c.constraint_name', '=', 'k.constraint_name')
        .onRef('c.table_schema', '=', 'k.table_schema')
        .onRef('c.table_name', '=', 'k.table_name'),
    )
    .select('k.column_name')
    .where('c.constraint_type', '=', 'PRIMARY KEY')
    .where('k.table_schema', '=', 'public')
    .where('k.table_name', '=', table)
    .orderBy('k.ordinal_position')
    .execute();
  const all = columns.map((column) => ({ name: column.column_name, type: column.udt_name }));
  const key = keyNames
    .map((row) => all.find((column) => column.name === row.column_name)!)
    .filter((column) => column.name !== TENANT_COLUMN);
  if (keyNames[0]?.column_name !== TENANT_COLUMN) {
    throw new UnexportableTableError(`tenant table "${table}" has no primary key starting with tenant_id`);
  }
  const secretKey = key.find((column) => secret.includes(column.name));
  if (secretKey) throw new UnexportableTableError(`tenant table "${table}": key column ${secretKey.name} is declared secret, and pages are keyed by it`);
  const untyped = key.find((column) => !KEY_TYPES.has(column.type));
  if (untyped) throw new UnexportableTableError(`tenant table "${table}": key column ${untyped.name} is of type ${untyped.type}, which pages cannot be keyed by`);
  return {
    table,
    columns: all.filter((column) => column.name !== TENANT_COLUMN && !secret.includes(column.name)),
    key,
  };
}
