// Counts rows through the superuser pool: of the platform tables, so a test can prove that a
// refused or failed request left nothing behind, and of one tenant in every tenant table.

import type pg from 'pg';
import { TEST_REGISTRY } from './modules.js';

/** The registered modules' tenant tables. */
const TENANT_TABLE_ORDER = [...TEST_REGISTRY.tenantTables];

export const PLATFORM_TABLES = ['tenants', 'users', 'memberships', 'invitations', 'api_keys', 'sessions'] as const;

export type RowCounts = Record<(typeof PLATFORM_TABLES)[number], number>;

export async function rowCounts(admin: pg.Pool): Promise<RowCounts> {
  const selects = PLATFORM_TABLES.map((table) => `(SELECT count(*)::int FROM ${table}) AS ${table}`).join(', ');
  const { rows } = await admin.query<RowCounts>(`SELECT ${selects}`);
  return rows[0]!;
}

/** Rows of one tenant in each registered tenant table. */
export async function tenantRowCounts(admin: pg.Pool, tenantId: string): Promise<Record<string, number>> {
  const selects = TENANT_TABLE_ORDER.map((table) => `(SELECT count(*)::int FROM ${table} WHERE tenant_id = $1) AS ${table}`).join(', ');
  const { rows } = await admin.query<Record<string, number>>(`SELECT ${selects}`, [tenantId]);
  return rows[0]!;
}
