// Scans every text-like column (text, varchar, json, jsonb, text[] and the like) of every table
// in the database, platform and module tables alike, for any of the given needles: what an
// erasure must leave nowhere.

import type pg from 'pg';

export interface Finding {
  readonly table: string;
  readonly column: string;
  readonly needle: string;
  readonly rows: number;
}

const TEXT_TYPES = ['text', 'varchar', 'bpchar', 'json', 'jsonb', 'citext', '_text', '_varchar', 'tsvector'];

export async function scanDatabase(admin: pg.Pool, needles: readonly string[]): Promise<Finding[]> {
  const { rows: columns } = await admin.query<{ schema: string; table: string; column: string }>(
    `SELECT c.table_schema AS schema, c.table_name AS table, c.column_name AS column
       FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') AND t.table_type = 'BASE TABLE'
        AND c.udt_name = ANY($1)`,
    [TEXT_TYPES],
  );
  const findings: Finding[] = [];
  for (const { schema, table, column } of columns) {
    for (const needle of needles) {
      const { rows } = await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${schema}"."${table}" WHERE position(lower($1) in lower("${column}"::text)) > 0`,
        [needle],
      );
      if (rows[0]!.n > 0) findings.push({ table: `${schema}.${table}`, column, needle, rows: rows[0]!.n });
    }
  }
  return findings;
}
