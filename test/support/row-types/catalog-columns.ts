// The columns of a migrated schema as PostgreSQL's catalog has them: type, nullability, and
// the values a single-column CHECK (col IN (...)) allows. One side of the row-type check.

import { loadModule, parseSync } from 'libpg-query';
import type pg from 'pg';

export interface CatalogColumn {
  /** pg_type.typname: 'text', 'int4', 'timestamptz', '_text' (an array of text), ... */
  readonly type: string;
  /** False for a NOT NULL column; undefined for a view column whose source cannot be told. */
  readonly nullable: boolean | undefined;
  /** The values a CHECK constraint allows, as text ('todo', '80'); undefined when none lists them. */
  readonly allowed: ReadonlySet<string> | undefined;
  /** An insert that leaves it out gets a value: a DEFAULT, an identity or a generated column. */
  readonly defaulted: boolean;
}

export interface CatalogRelation {
  readonly kind: 'table' | 'view';
  readonly columns: ReadonlyMap<string, CatalogColumn>;
}

export type Catalog = ReadonlyMap<string, CatalogRelation>;

/** Partitions are reached through their parent, so only the parent is a relation the app queries. */
const RELATIONS = `
  SELECT c.relname AS relation, c.relkind IN ('v', 'm') AS is_view, a.attname AS column, t.typname AS type,
         NOT a.attnotnull AS nullable, a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '' AS defaulted
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_type t ON t.oid = a.atttypid
  WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
  ORDER BY c.relname, a.attnum`;

const SINGLE_COLUMN_CHECKS = `
  SELECT c.relname AS relation, a.attname AS column, pg_get_expr(k.conbin, k.conrelid) AS expression
  FROM pg_constraint k
  JOIN pg_class c ON c.oid = k.conrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
  WHERE k.contype = 'c' AND n.nspname = $1 AND cardinality(k.conkey) = 1`;

const VIEWS = `
  SELECT c.relname AS view, pg_get_viewdef(c.oid) AS definition
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relkind IN ('v', 'm')`;

interface Row {
  relation: string;
  is_view: boolean;
  column: string;
  type: string;
  nullable: boolean;
  defaulted: boolean;
}

export async function readCatalog(client: pg.Pool | pg.Client, schema: string): Promise<Catalog> {
  await loadModule();
  const [columns, checks, views] = await Promise.all([
    client.query<Row>(RELATIONS, [schema]),
    client.query<{ relation: string; column: string; expression: string }>(SINGLE_COLUMN_CHECKS, [schema]),
    client.query<{ view: string; definition: string }>(VIEWS, [schema]),
  ]);
  const allowed = new Map<string, Set<string>>();
  for (const check of checks.rows) {
    const values = allowedValues(check.expression);
    if (!values) continue;
    const key = `${check.relation}.${check.column}`;
    // Two lists on one column: only values in both get in.
    const earlier = allowed.get(key);
    allowed.set(key, earlier ? new Set([...earlier].filter((value) => values.has(value))) : values);
  }
  const catalog = new Map<string, { kind: 'table' | 'view'; columns: Map<string, CatalogColumn> }>();
  for (const row of columns.rows) {
    let relation = catalog.get(row.relation);
    if (!relation) catalog.set(row.relation, (relation = { kind: row.is_view ? 'view' : 'table', columns: new Map() }));
    // A view column is never marked NOT NULL: what it holds is its source column's, found below.
    const nullable = row.is_view ? undefined : row.nullable;
    relation.columns.set(row.column, { type: row.type, nullable, allowed: allowed.get(`${row.relation}.${row.column}`), defaulted: row.defaulted });
  }
  for (const { view, definition } of views.rows) {
    const sources = sourceColumns(definition, schema);
    const table = sources && catalog.get(sources.table);
    const columns = catalog.get(view)?.columns;
    if (!table || !columns) continue;
    // The view's columns are in attnum order, the order of its select list.
    [...columns].forEach(([name, column], position) => {
      const origin = table.columns.get(sources.columns[position] ?? '');
      if (origin) columns.set(name, { ...column, nullable: origin.nullable, allowed: origin.allowed });
    });
  }
  return catalog;
}

type Node = Record<string, unknown>;

/**
 * The table a view selects from, and the column each of its output columns passes through
 * unchanged (undefined for a computed one), when the view reads exactly one table. A join,
 * a union or a computation leaves a column untraced, its nullability unknown.
 */
function sourceColumns(definition: string, schema: string): { table: string; columns: Array<string | undefined> } | undefined {
  const select = (parseSync(definition).stmts?.[0]?.stmt as { SelectStmt?: { targetList?: Node[]; fromClause?: Node[] } } | undefined)?.SelectStmt;
  const from = select?.fromClause;
  const source = from?.length === 1 ? (from[0]!.RangeVar as { relname?: string; schemaname?: string } | undefined) : undefined;
  // Unqualified, the name was visible on the search path: this schema's own table in practice.
  if (!source?.relname || (source.schemaname && source.schemaname !== schema) || !select?.targetList) return undefined;
  const table = source.relname;
  const columns = select.targetList.map((target) => {
    const fields = ((target.ResTarget as { val?: Node } | undefined)?.val?.ColumnRef as { fields?: Node[] } | undefined)?.fields;
    return (fields?.at(-1)?.String as { sval?: string } | undefined)?.sval;
  });
  return { table, columns };
}

/** A cast changes nothing about which values are listed: `(status)::text`, `'a'::text`. */
function uncast(node: Node | undefined): Node | undefined {
  const cast = node?.TypeCast as { arg?: Node } | undefined;
  return cast ? uncast(cast.arg) : node;
}

function constant(node: Node | undefined): string | undefined {
  const value = uncast(node)?.A_Const as { sval?: { sval?: string }; ival?: { ival?: number }; isnull?: boolean } | undefined;
  if (!value || value.isnull) return undefined;
  if (value.sval) return value.sval.sval ?? '';
  // The parser leaves a zero out of its tree: an ival with no ival is 0.
  if (value.ival) return String(value.ival.ival ?? 0);
  return undefined;
}

/**
 * The values of `col = ANY (ARRAY[...])` (how PostgreSQL keeps `col IN (...)`) or `col = v`,
 * read with PostgreSQL's own parser; undefined for any other check (a length, a pattern).
 */
function allowedValues(expression: string): Set<string> | undefined {
  const select = (parseSync(`SELECT ${expression}`).stmts?.[0]?.stmt as { SelectStmt?: { targetList?: Node[] } } | undefined)?.SelectStmt;
  const target = (select?.targetList?.[0]?.ResTarget as { val?: Node } | undefined)?.val;
  const test = target?.A_Expr as { kind?: string; name?: Array<{ String?: { sval?: string } }>; lexpr?: Node; rexpr?: Node } | undefined;
  if (!test || test.name?.[0]?.String?.sval !== '=' || !uncast(test.lexpr)?.ColumnRef) return undefined;
  const listed =
    test.kind === 'AEXPR_OP_ANY'
      ? ((uncast(test.rexpr)?.A_ArrayExpr as { elements?: Node[] } | undefined)?.elements ?? [])
      : test.kind === 'AEXPR_OP'
        ? [test.rexpr!]
        : [];
  const values = listed.flatMap((node) => constant(node) ?? []);
  return values.length > 0 && values.length === listed.length ? new Set(values) : undefined;
}
