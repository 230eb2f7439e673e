// Reads one tenant table as NDJSON lines, a keyset page at a time, each page its own unit of
// work in the tenant's scope (both isolation layers: the query filter adds tenant_id, RLS
// checks it). A page is one statement and holds at most `pageSize` lines in memory.
//
// Why keyset pages and not COPY: a unit of work runs only SQL its query builder compiled
// through the tenant filter, and COPY is no query the filter can rewrite; running it on a raw
// connection would lean on RLS alone. Why short units and not one long transaction: a
// million-row table would hold one transaction (and its snapshot) open for its whole read,
// past the background bound. The cost: the archive is consistent per page, not a single
// snapshot of the tenant; rows written during the export appear in the state their page saw.

import { sql, type Kysely } from 'kysely';
import type { Database, Tx } from '../../db/database.js';
import { TENANT_COLUMN } from '../../db/tenant-tables.js';
import type { TableShape } from './table-shape.js';

/** What the export needs of a Database: tenant units (pages are typed by the catalog, not by row types). */
export type TenantUnits = Pick<Database, 'tenant'>;

/** Where the previous page stopped: the last row's key values as PostgreSQL's own text. */
type Position = readonly string[];

interface PageRow {
  readonly line: string;
  readonly [key: `k${number}`]: string;
}

/**
 * One page of `shape.table`'s rows for `tenantId` after `after`, each as one JSON object (the
 * row's exported columns: never tenant_id or a declared secret), built by PostgreSQL as text: no
 * timestamp loses its microseconds, no numeric its digits, and no secret reaches this process.
 *
 * The page is chosen in a subquery and turned into JSON outside it: with the JSON in the same
 * SELECT, PostgreSQL may build it for every remaining row of the tenant and sort them before
 * the LIMIT (measured: 40 times slower per page, and growing with the table).
 */
function readPage(tx: Tx, tenantId: string, shape: TableShape, after: Position | undefined, pageSize: number) {
  const db = tx as unknown as Kysely<Record<string, Record<string, unknown>>>;
  const keyRefs = shape.key.map((column) => sql.ref(column.name));
  // Only the exported columns enter the page, so the whole page row is the line: to_json of a
  // row is text already, where to_jsonb would build a binary value, copy it without the
  // removed keys, and print it (measured: 1.9 s against 1.2 s for 50,000 rows).
  let page = db.selectFrom(shape.table).select(shape.columns.map((column) => column.name));
  if (after) {
    // tenant_id leads the row comparison so that it matches the primary key's index: each page
    // starts where the last stopped instead of scanning the tenant's rows again.
    const values = shape.key.map((column, index) => sql`${after[index]}::${sql.raw(column.type)}`);
    page = page.where(sql<boolean>`(${sql.ref(TENANT_COLUMN)}, ${sql.join(keyRefs)}) > (${tenantId}::uuid, ${sql.join(values)})`);
  }
  // The primary key's own order, tenant_id first, so the index delivers it without a sort.
  page = page.orderBy(sql.ref(TENANT_COLUMN));
  for (const column of shape.key) page = page.orderBy(sql.ref(column.name));
  return db
    .selectFrom(page.limit(pageSize).as('page'))
    .select(sql<string>`to_json(page)::text`.as('line'))
    .select(shape.key.map((column, index) => sql<string>`${sql.ref(`page.${column.name}`)}::text`.as(`k${index}`)))
    .execute() as unknown as Promise<PageRow[]>;
}

/**
 * The table's rows for the current tenant as NDJSON lines, one array per page. `tenantId` is
 * the unit's own tenant (the job's); the query filter and RLS confine every page to it anyway.
 */
export async function* tableLines(db: TenantUnits, tenantId: string, shape: TableShape, pageSize: number): AsyncGenerator<string[]> {
  let after: Position | undefined;
  for (;;) {
    const rows = await db.tenant((tx) => readPage(tx, tenantId, shape, after, pageSize));
    if (rows.length > 0) yield rows.map((row) => row.line);
    // A table keyed by tenant_id alone holds one row per tenant: one page is all of it.
    if (rows.length < pageSize || shape.key.length === 0) return;
    const last = rows[rows.length - 1]!;
    after = shape.key.map((_, index) => last[`k${index}`] as string);
  }
}
