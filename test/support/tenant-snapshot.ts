// All of one tenant's rows, read through the superuser pool: its rows in every registered
// tenant table, its own tenants row and its members' users rows, each as row_to_json text.
// What an attack on the tenant must leave as it was, and where its ids and names come from.

import type pg from 'pg';

/** Rows by table, each row as JSON text, sorted. */
export type TenantSnapshot = Readonly<Record<string, readonly string[]>>;

/** `tenantTables`: the app's registered ones (services.modules.tenantTables). */
export async function tenantSnapshot(admin: pg.Pool, tenantTables: Iterable<string>, tenantId: string): Promise<TenantSnapshot> {
  const selects = [
    ...[...tenantTables].map((table) => `SELECT '${table}' AS table, row_to_json(r)::text AS row FROM ${table} r WHERE tenant_id = $1`),
    `SELECT 'tenants', row_to_json(r)::text FROM tenants r WHERE id = $1`,
    `SELECT 'users', row_to_json(r)::text FROM users r WHERE id IN (SELECT user_id FROM memberships WHERE tenant_id = $1)`,
  ];
  const { rows } = await admin.query<{ table: string; row: string }>(`${selects.join(' UNION ALL ')} ORDER BY 1, 2`, [tenantId]);
  const snapshot: Record<string, string[]> = {};
  for (const { table, row } of rows) (snapshot[table] ??= []).push(row);
  return snapshot;
}

/** Every distinct column value of the snapshot's rows that a URL can carry: text and numbers. */
export function columnValues(snapshot: TenantSnapshot): string[] {
  const values = new Set<string>();
  for (const row of Object.values(snapshot).flat()) {
    for (const value of Object.values(JSON.parse(row) as Record<string, unknown>)) {
      if (typeof value === 'string' || typeof value === 'number') values.add(String(value));
    }
  }
  return [...values].sort();
}

/** The tables whose rows differ between two snapshots of one tenant. */
export function changedTables(before: TenantSnapshot, after: TenantSnapshot): string[] {
  const tables = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...tables].filter((table) => JSON.stringify(before[table] ?? []) !== JSON.stringify(after[table] ?? [])).sort();
}

/** Rows with the named columns left out, sorted again: to compare what else a row holds. */
export function withoutColumns(rows: readonly string[], columns: readonly string[]): string[] {
  return rows
    .map((row) => {
      const values = JSON.parse(row) as Record<string, unknown>;
      for (const column of columns) delete values[column];
      return JSON.stringify(values);
    })
    .sort();
}
