// Hot statements as named prepared statements. An unnamed statement is parsed, analyzed,
// rewritten (row-level security is added there) and planned on every execution; a named one
// is parsed once per connection, and after five executions PostgreSQL may keep a generic plan.
// Side by side on the benchmark database, that cut PostgreSQL's CPU for a task-list unit of
// work (transaction, scoping, access check and list) by about 30 %. Only statements that ask for it are named (db.tenantStatement(…,
// { prepared: true })): a statement whose best plan depends on its values, like memory
// recall's text search, is better planned each time.
//
// A generic plan never fixes a tenant: the tenant filter's tenant is a parameter, and the
// policies read current_setting(), a stable function evaluated when the plan runs.

import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * Named statements one connection keeps at most: statement shapes are few (a list's filters
 * and sort), but a shape that varies with its values (an IN list) must not grow a connection
 * without bound. Past it, statements go unnamed.
 */
export const MAX_PREPARED_PER_CONNECTION = 100;

/** SQLSTATE 0A000 with this message: a prepared statement's result columns changed under it. */
const STALE_PLAN = /cached plan must not change result type/;

const preparedBy = new WeakMap<object, Set<string>>();
/** Statement names by SQL text, so a hot statement is hashed once per process. */
const names = new Map<string, string>();
const MAX_REMEMBERED_NAMES = 10_000;

function nameOf(sql: string): string {
  let name = names.get(sql);
  if (name === undefined) {
    name = 'tenantry_' + createHash('sha256').update(sql).digest('hex').slice(0, 32);
    if (names.size >= MAX_REMEMBERED_NAMES) names.clear();
    names.set(sql, name);
  }
  return name;
}

/**
 * The name `sql` goes by on this connection: its prepared statement's if the connection has
 * prepared it or has room for one more; undefined (send it unnamed) otherwise.
 */
export function preparedName(client: pg.ClientBase, sql: string): string | undefined {
  let prepared = preparedBy.get(client);
  if (!prepared) {
    prepared = new Set();
    preparedBy.set(client, prepared);
  }
  const name = nameOf(sql);
  if (!prepared.has(name)) {
    if (prepared.size >= MAX_PREPARED_PER_CONNECTION) return undefined;
    prepared.add(name);
  }
  return name;
}

/** The query to send for `sql` on this connection: named as preparedName() says. */
export function preparedQuery(client: pg.ClientBase, sql: string, values: unknown[]): pg.QueryConfig {
  const name = preparedName(client, sql);
  return name === undefined ? { text: sql, values } : { name, text: sql, values };
}

/**
 * True for the error PostgreSQL raises when a table a prepared statement reads changed the
 * columns it returns (a migration while the server runs): the connection's statement stays
 * stale, so the connection must be discarded rather than reused.
 */
export function isStalePlan(error: unknown): boolean {
  const failure = error as { code?: unknown; message?: unknown } | null;
  return failure?.code === '0A000' && typeof failure.message === 'string' && STALE_PLAN.test(failure.message);
}
