// Reads of the audit logs, newest first, keyset-paginated over (created_at, id). Tenant
// reads run in the tenant's scope; the operator's reads run as the service role.

import type { Tx } from '../db/database.js';
import { afterPosition, cursorAt, toPage, type Page, type PagePosition } from '../http/page-cursor.js';

export interface AuditRow {
  id: string;
  tenant_id: string | null;
  actor: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
  request_id: string | null;
  created_at: Date;
  cursor_at: string;
}

/** The current tenant's entries (the query layer and RLS confine them to it). */
export async function listTenantAudit(tx: Tx, limit: number, after: PagePosition | undefined): Promise<Page<AuditRow>> {
  let query = tx
    .selectFrom('audit_log')
    .select(['id', 'tenant_id', 'actor', 'action', 'target', 'before', 'after', 'request_id', 'created_at', cursorAt.as('cursor_at')])
    .where('deleted_at', 'is', null)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1);
  if (after) query = query.where(afterPosition(after, 'desc'));
  return toPage(await query.execute(), limit);
}

/** Service role only: every tenant's entries, or one tenant's. */
export async function unsafeListAllTenantsAudit(
  tx: Tx,
  tenantId: string | undefined,
  limit: number,
  after: PagePosition | undefined,
): Promise<Page<AuditRow>> {
  let query = tx
    .selectFrom('audit_log')
    .select(['id', 'tenant_id', 'actor', 'action', 'target', 'before', 'after', 'request_id', 'created_at', cursorAt.as('cursor_at')])
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1);
  if (tenantId) query = query.where('tenant_id', '=', tenantId);
  if (after) query = query.where(afterPosition(after, 'desc'));
  return toPage(await query.execute(), limit);
}

/** Service role only: changes of platform data. */
export async function listPlatformAudit(tx: Tx, limit: number, after: PagePosition | undefined): Promise<Page<AuditRow>> {
  let query = tx
    .selectFrom('platform_audit_log')
    .select(['id', 'actor', 'action', 'target', 'before', 'after', 'request_id', 'created_at', cursorAt.as('cursor_at')])
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1);
  if (after) query = query.where(afterPosition(after, 'desc'));
  const page = toPage(await query.execute(), limit);
  return { rows: page.rows.map((row) => ({ ...row, tenant_id: null })), next: page.next };
}
