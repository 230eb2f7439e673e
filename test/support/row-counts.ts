// Counts the rows of the platform tables through the superuser pool, so a test can prove
// that a refused or failed request left nothing behind.

import type pg from 'pg';

export const PLATFORM_TABLES = ['tenants', 'users', 'memberships', 'invitations', 'api_keys', 'sessions'] as const;

export type RowCounts = Record<(typeof PLATFORM_TABLES)[number], number>;

export async function rowCounts(admin: pg.Pool): Promise<RowCounts> {
  const selects = PLATFORM_TABLES.map((table) => `(SELECT count(*)::int FROM ${table}) AS ${table}`).join(', ');
  const { rows } = await admin.query<RowCounts>(`SELECT ${selects}`);
  return rows[0]!;
}
