// Reads of the audit logs, newest first, keyset-paginated over (created_at, id). Tenant
// reads run in the tenant's scope; the operator's reads run as the service role.

import type { Tx } from '../db/database.js';
import { keysetPage, type Page, type PagePosition } from '../db/keyset-page.js';

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
}

const NEWEST_FIRST = { at: 'created_at', id: 'id' } as const;

/** The current tenant's entries (the query layer and RLS confine them to it). */
export function listTenantAudit(tx: Tx, limit: number, after: PagePosition | undefined): Promise<Page<AuditRow>> {
  const query = tx
    .selectFrom('audit_log')
    .select(['id', 'tenant_id', 'actor', 'action', 'target', 'before', 'after', 'request_id', 'created_at'])
    .where('deleted_at', 'is', null);
  return keysetPage(query, NEWEST_FIRST, { limit, sort: 'desc', after });
}

/** Service role only: every tenant's entries, or one tenant's. */
export async function unsafeListAllTenantsAudit(
  tx: Tx,
  tenantId: string | undefined,
  limit: number,
  after: PagePosition | undefined,
): Promise<Page<AuditRow>> {
  let query = tx.selectFrom('audit_log').select(['id', 'tenant_id', 'actor', 'action', 'target', 'before', 'after', 'request_id', 'created_at']);
  if (tenantId) query = query.where('tenant_id', '=', tenantId);
  return keysetPage(query, NEWEST_FIRST, { limit, sort: 'desc', after });
}

/** Service role only: changes of platform data. */
export async function listPlatformAudit(tx: Tx, limit: number, after: PagePosition | undefined): Promise<Page<AuditRow>> {
  const query = tx.selectFrom('platform_audit_log').select(['id', 'actor', 'action', 'target', 'before', 'after', 'request_id', 'created_at']);
  const page = await keysetPage(query, NEWEST_FIRST, { limit, sort: 'desc', after });
  return { rows: page.rows.map((row) => ({ ...row, tenant_id: null })), next: page.next };
}
