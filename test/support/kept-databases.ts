// Databases of failed test files, kept for inspection instead of dropped. A comment on the
// database marks it kept (with its run and test file), so the global set-up and teardown,
// which run in another process than the test files, can tell kept databases from leftovers.
// No vitest import: the global set-up loads this module too.

import type pg from 'pg';

/** A run keeps the databases of its first few failed files; a broken run keeps no more. */
export const KEEP_AT_MOST = 5;

const MARK = 'tenantry-test kept ';

/** Names of a run's test databases start with this, so its teardown can find leftovers. */
export function testDatabasePrefix(runId: string): string {
  return `tenantry_test_${runId}_`;
}

export interface KeptDatabase {
  readonly name: string;
  readonly run: string;
  readonly file: string;
}

/** Every test database on this server that some run kept. */
export async function keptDatabases(client: pg.ClientBase): Promise<KeptDatabase[]> {
  const { rows } = await client.query<{ name: string; comment: string }>(
    `SELECT datname AS name, shobj_description(oid, 'pg_database') AS comment FROM pg_database
     WHERE starts_with(coalesce(shobj_description(oid, 'pg_database'), ''), $1) ORDER BY datname`,
    [MARK],
  );
  return rows.map(({ name, comment }) => ({ name, ...(JSON.parse(comment.slice(MARK.length)) as { run: string; file: string }) }));
}

/**
 * Marks a database kept, unless its run has kept KEEP_AT_MOST already; says whether it did.
 * Files end in parallel: a lock makes the count and the mark one step.
 */
export async function markKept(client: pg.ClientBase, name: string, run: string, file: string): Promise<boolean> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('tenantry-test kept'))`);
    const kept = (await keptDatabases(client)).filter((database) => database.run === run);
    if (kept.length >= KEEP_AT_MOST) {
      await client.query('COMMIT');
      return false;
    }
    const comment = MARK + JSON.stringify({ run, file });
    await client.query(`COMMENT ON DATABASE ${client.escapeIdentifier(name)} IS ${client.escapeLiteral(comment)}`);
    await client.query('COMMIT');
    return true;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** A connection string fit to print: the password, if any, left out. */
export function printableUrl(url: string): string {
  const printable = new URL(url);
  if (printable.password) printable.password = '***';
  return printable.toString();
}
