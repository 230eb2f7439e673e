// Keyset pagination for every list: a page is the rows strictly after the position where the
// previous one stopped, in (time, id) order, so pages stay stable while rows come and go.

import { sql, type Expression, type ExtractTypeFromStringReference, type RawBuilder, type SelectQueryBuilder, type SelectType, type StringReference } from 'kysely';

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
 * The two columns a list is ordered and paged by: a creation time and a uuid unique within
 * the list. Neither may be nullable: a null would sort outside every position.
 */
export interface PageKeys<DB, TB extends keyof DB> {
  readonly at: ColumnOf<DB, TB, Date>;
  readonly id: ColumnOf<DB, TB, string>;
}

/** Each row's position, selected beside its columns and taken off again by toPage(). */
export interface Positioned {
  readonly page_at: string;
  readonly page_id: string;
}

/**
 * The position's time as UTC text with microseconds: a JavaScript Date keeps only
 * milliseconds, and a position rounded to them would repeat or skip rows created in the same one.
 */
function positionAt(column: string): RawBuilder<string> {
  return sql<string>`to_char(${sql.ref(column)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
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
): SelectQueryBuilder<DB, TB, O & Positioned> {
  return boundedPageQuery(query, keys, { sort: request.sort, fetch: request.limit + 1, after: request.after });
}

/** keysetPageQuery() by bounds: how a statement template builds the same page with its position and count left open. */
export function boundedPageQuery<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  keys: PageKeys<DB, TB>,
  page: PageBounds,
): SelectQueryBuilder<DB, TB, O & Positioned> {
  const paged = query
    .select((eb) => [positionAt(keys.at).as('page_at'), eb.ref(keys.id).as('page_id')])
    // Kysely computes a selection's type only once DB is known; these two are Positioned.
    .$castTo<O & Positioned>()
    .orderBy(keys.at, page.sort)
    .orderBy(keys.id, page.sort)
    .limit(page.fetch);
  return page.after ? paged.where(after(keys, page.after, page.sort)) : paged;
}

/** Splits the limit + 1 rows a page query fetched into the page and the position of its last row. */
export function toPage<Row>(rows: Array<Row & Positioned>, limit: number): Page<Row> {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    rows: page.map(withoutPosition),
    next: rows.length > limit && last ? { at: last.page_at, id: last.page_id } : undefined,
  };
}

function withoutPosition<Row>(row: Row & Positioned): Row {
  const { page_at: _at, page_id: _id, ...columns } = row;
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
  return toPage(await keysetPageQuery(query, keys, request).execute(), request.limit);
}
