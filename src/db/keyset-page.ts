// Keyset pagination for every list: a page is the rows strictly after the position where the
// previous one stopped, in (time, id) order, so pages stay stable while rows come and go.
//
// A position is read from the row it stops at: its time from the timestamptz as our pools read
// it (db/timestamps.ts keeps the microseconds a Date drops), its id as it is. A page query that
// selects its two key columns under their own names sends nothing more; one that does not (it
// renames them, or leaves them out) selects them again, as page_at and page_id, which toPage()
// takes off. PostgreSQL formats no position: a to_char() on every row was a fifth of what a
// 50-task page cost it (docs/benchmarks.md).

import {
  AliasNode,
  ColumnNode,
  IdentifierNode,
  ReferenceNode,
  SelectAllNode,
  TableNode,
  type Expression,
  type OperationNode,
  type SelectQueryBuilder,
  type SelectQueryNode,
  type SelectType,
  type ExtractTypeFromStringReference,
  type StringReference,
  sql,
  type RawBuilder,
} from 'kysely';
import { microsecondISOString } from './timestamps.js';

export type SortOrder = 'asc' | 'desc';

/** Where a page stopped: the time at full microsecond precision (UTC text), and the id. */
export interface PagePosition {
  readonly at: string;
  readonly id: string;
}

export interface PageRequest {
  readonly limit: number;
  readonly sort: SortOrder;
  readonly after?: PagePosition | undefined;
}

export interface Page<Row> {
  readonly rows: Row[];
  /** Where this page stopped; undefined on the last page. */
  readonly next: PagePosition | undefined;
}

/** A column of the query's tables ('created_at', 'm.created_at') whose non-null value is a T. */
export type ColumnOf<DB, TB extends keyof DB, T> = {
  [R in StringReference<DB, TB>]: SelectType<ExtractTypeFromStringReference<DB, TB, R>> extends T ? R : never;
}[StringReference<DB, TB>];

/**
 * The two columns a list is ordered and paged by: a creation time (timestamptz) and a uuid
 * unique within the list. Neither may be nullable: a null would sort outside every position.
 */
export interface PageKeys<DB, TB extends keyof DB> {
  readonly at: ColumnOf<DB, TB, Date>;
  readonly id: ColumnOf<DB, TB, string>;
}

/** The key columns again, for a page query whose selection does not carry them under their own names. */
interface Positioned {
  readonly page_at: Date;
  readonly page_id: string;
}

/** The column a key names: 'm.created_at' → 'created_at'. */
function columnOf(ref: string): string {
  return ref.slice(ref.lastIndexOf('.') + 1);
}

/** The table (or alias) a key names, if any: 'm.created_at' → 'm'. */
function tableOf(ref: string): string | undefined {
  const dot = ref.lastIndexOf('.');
  return dot < 0 ? undefined : ref.slice(0, dot);
}

function nameOf(node: OperationNode | undefined): string | undefined {
  if (node && TableNode.is(node)) return node.table.identifier.name;
  if (node && AliasNode.is(node) && IdentifierNode.is(node.alias)) return node.alias.name;
  return undefined;
}

/**
 * Whether every row of the query carries the key column `ref` under the column's own name: it
 * is selected by reference and not renamed (or by selectAll of its table), and nothing else
 * the query selects could take that name. Anything this cannot tell is a no.
 */
function carries(query: SelectQueryNode, ref: string): boolean {
  const column = columnOf(ref);
  const table = tableOf(ref);
  const froms = query.from?.froms ?? [];
  const onlyTable = froms.length === 1 && !query.joins?.length ? nameOf(froms[0]) : undefined;
  let found = 0;
  let others = 0;
  for (const { selection } of query.selections ?? []) {
    if (ReferenceNode.is(selection) && ColumnNode.is(selection.column)) {
      if (selection.column.column.name !== column) continue;
      const selected = selection.table?.table.identifier.name;
      // Unqualified on either side, the two can only be the same column (else PostgreSQL finds the name ambiguous).
      if (selected === undefined || table === undefined || selected === table) found++;
      else others++;
    } else if (ReferenceNode.is(selection) || SelectAllNode.is(selection)) {
      const of = ReferenceNode.is(selection) ? selection.table?.table.identifier.name : onlyTable;
      if (of !== undefined && (table === undefined ? of === onlyTable : of === table)) found++;
      else others++;
    } else if (AliasNode.is(selection)) {
      if (!IdentifierNode.is(selection.alias) || selection.alias.name === column) others++;
    } else {
      others++;
    }
  }
  return found === 1 && others === 0;
}

/**
 * A page's bounds as the query takes them: plain values, or expressions a statement template
 * leaves open (db/statement-template.ts), where the sort is part of the template's shape.
 */
export interface PageBounds {
  readonly sort: SortOrder;
  /** The page's limit + 1: the extra row tells toPage() whether another page follows. */
  readonly fetch: number | Expression<number>;
  readonly after?: { readonly at: string | Expression<string>; readonly id: string | Expression<string> } | undefined;
}

/**
 * Rows strictly after the position in the sort order. The plain time bound lets a
 * (tenant_id, created_at) index start the scan at the position; the row comparison breaks ties.
 */
function after(keys: { readonly at: string; readonly id: string }, position: NonNullable<PageBounds['after']>, sort: SortOrder): RawBuilder<boolean> {
  const op = sql.raw(sort === 'desc' ? '<' : '>');
  const bound = sql.raw(sort === 'desc' ? '<=' : '>=');
  const [at, id] = [sql.ref(keys.at), sql.ref(keys.id)];
  return sql<boolean>`(${at} ${bound} ${position.at}::timestamptz
    AND (${at}, ${id}) ${op} (${position.at}::timestamptz, ${position.id}::uuid))`;
}

/**
 * The query narrowed to one page, unexecuted (db.tenantStatement() sends it in one round
 * trip): ordered by the keys, after the request's position, one row more than the limit so
 * toPage() knows whether another page follows.
 */
export function keysetPageQuery<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  keys: PageKeys<DB, TB>,
  request: PageRequest,
): SelectQueryBuilder<DB, TB, O> {
  return boundedPageQuery(query, keys, { sort: request.sort, fetch: request.limit + 1, after: request.after });
}

/** keysetPageQuery() by bounds: how a statement template builds the same page with its position and count left open. */
export function boundedPageQuery<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  keys: PageKeys<DB, TB>,
  page: PageBounds,
): SelectQueryBuilder<DB, TB, O> {
  const node = query.toOperationNode();
  const positioned =
    carries(node, keys.at) && carries(node, keys.id)
      ? query
      : // Selected as they are: the rows' own text, not a position formatted by PostgreSQL.
        query.select((eb) => [eb.ref(keys.at).as('page_at'), eb.ref(keys.id).as('page_id')]).$castTo<O>();
  const paged = positioned.orderBy(keys.at, page.sort).orderBy(keys.id, page.sort).limit(page.fetch);
  return page.after ? paged.where(after(keys, page.after, page.sort)) : paged;
}

/**
 * Splits the limit + 1 rows a page query fetched into the page and the position of its last
 * row. `keys` are the page query's.
 */
export function toPage<Row extends object>(rows: Row[], limit: number, keys: { readonly at: string; readonly id: string }): Page<Row> {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const positioned = last !== undefined && Object.hasOwn(last, 'page_at');
  return {
    rows: positioned ? page.map(withoutPosition) : page,
    next: rows.length > limit && last ? positionOf(last, positioned ? { at: 'page_at', id: 'page_id' } : keys) : undefined,
  };
}

/** Where a page that stops at `row` stopped: its key columns' values, the time to the microsecond. */
function positionOf(row: object, keys: { readonly at: string; readonly id: string }): PagePosition {
  const columns = row as Record<string, unknown>;
  const [at, id] = [columns[columnOf(keys.at)], columns[columnOf(keys.id)]];
  const exact = microsecondISOString(at);
  if (exact === undefined || typeof id !== 'string') {
    // A Date parsed by another pool than ours (poolTypes) has lost its microseconds, and a
    // position rounded to milliseconds would repeat or skip rows: refuse rather than guess.
    throw new TypeError(`a keyset page needs its time key (${keys.at}) as a timestamptz read by a pool built with poolTypes (db/timestamps.ts)`);
  }
  return { at: exact, id };
}

function withoutPosition<Row extends object>(row: Row): Row {
  const { page_at: _at, page_id: _id, ...columns } = row as Row & Positioned;
  // The rest of Row & Positioned without Positioned's keys is Row; TypeScript cannot follow
  // a rest type through a generic.
  return columns as Row;
}

/**
 * One page of the query's rows, ordered by the keys.
 *
 * @example
 *   const page = await keysetPage(
 *     tx.selectFrom('projects').select(['id', 'name']).where('deleted_at', 'is', null),
 *     { at: 'created_at', id: 'id' },
 *     { limit: 50, sort: 'desc', after: decodeCursor(cursor, 'desc') },
 *   );
 */
export async function keysetPage<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  keys: PageKeys<DB, TB>,
  request: PageRequest,
): Promise<Page<O>> {
  return toPage(await keysetPageQuery(query, keys, request).execute(), request.limit, keys);
}
