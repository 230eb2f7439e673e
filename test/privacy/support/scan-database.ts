// Scans every column of every table in every schema of the database, platform and module
// tables alike, for any of the given needles: text-like columns (text, varchar, json, jsonb,
// text[] and the like) for the needle anywhere in them, uuid columns for a needle that is a
// uuid. What an erasure must leave nowhere; a table a module adds later is scanned unasked.

import type pg from 'pg';

export interface Finding {
  readonly table: string;
  readonly column: string;
  readonly needle: string;
  readonly rows: number;
}

const TEXT_TYPES = ['text', 'varchar', 'bpchar', 'json', 'jsonb', 'citext', '_text', '_varchar', 'tsvector'];
const UUID_TYPES = ['uuid', '_uuid'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ScanOptions {
  /** `schema.table.column` values allowed to hold a needle (the erased user's own row keeps its id). */
  readonly except?: readonly string[];
}

export async function scanDatabase(admin: pg.Pool, needles: readonly string[], options: ScanOptions = {}): Promise<Finding[]> {
  const { rows: columns } = await admin.query<{ schema: string; table: string; column: string; type: string }>(
    `SELECT c.table_schema AS schema, c.table_name AS table, c.column_name AS column, c.udt_name AS type
       FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') AND t.table_type = 'BASE TABLE'
        AND c.udt_name = ANY($1)`,
    [[...TEXT_TYPES, ...UUID_TYPES]],
  );
  const findings: Finding[] = [];
  for (const { schema, table, column, type } of columns) {
    if (options.except?.includes(`${schema}.${table}.${column}`)) continue;
    const isUuid = UUID_TYPES.includes(type);
    for (const needle of needles) {
      if (isUuid && !UUID.test(needle)) continue;
      const condition = !isUuid
        ? `position(lower($1) in lower("${column}"::text)) > 0`
        : type === 'uuid'
          ? `"${column}" = $1::uuid`
          : `$1::uuid = ANY("${column}")`;
      const { rows } = await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${schema}"."${table}" WHERE ${condition}`,
        [needle],
      );
      if (rows[0]!.n > 0) findings.push({ table: `${schema}.${table}`, column, needle, rows: rows[0]!.n });
    }
  }
  return findings;
}
