// GET /v1/audit: a tenant admin pages through their own tenant's audit entries (a pro+
// feature). GET /v1/admin/audit: the platform operator reads any tenant's, or the platform's.

import { Type, type Static } from 'typebox';
import { decodeCursor, encodeCursor } from '../http/page-cursor.js';
import { Cursor, NextCursor } from '../http/page.schemas.js';
import { access } from '../http/access.js';
import { problems, Timestamp, Uuid } from '../http/common-schemas.js';
import type { Database } from '../db/database.js';
import type { ModuleRoutes } from '../modules/module.js';
import { listPlatformAudit, listTenantAudit, unsafeListAllTenantsAudit, type AuditRow } from './audit-repository.js';

const AuditEntryView = Type.Object({
  id: Uuid,
  tenantId: Type.Union([Uuid, Type.Null()]),
  actor: Type.String({ description: 'user:<id>, api_key:<id> or platform_admin' }),
  action: Type.String(),
  target: Type.String(),
  before: Type.Unknown(),
  after: Type.Unknown(),
  requestId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
});

const AuditPage = Type.Object({ data: Type.Array(AuditEntryView), nextCursor: NextCursor });

const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Entries per page' }));

const AdminAuditQuery = Type.Object(
  {
    limit: Limit,
    cursor: Cursor,
    scope: Type.Optional(Type.Union([Type.Literal('tenant'), Type.Literal('platform')], { default: 'tenant' })),
    tenantId: Type.Optional(Uuid),
  },
  { additionalProperties: false },
);

function entryView(row: AuditRow): Static<typeof AuditEntryView> {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    actor: row.actor,
    action: row.action,
    target: row.target,
    before: row.before,
    after: row.after,
    requestId: row.request_id,
    createdAt: row.created_at.toISOString(),
  };
}

export const auditRoutes: ModuleRoutes<{ readonly db: Database }> = async (app, { db }) => {
  const security = [{ bearer: [] }];

  app.get(
    '/v1/audit',
    {
      config: { access: access.tenant('admin'), feature: 'audit_log' },
      schema: {
        tags: ['audit'],
        summary: "This tenant's audit log, newest first (owner or admin; plans with the audit_log feature)",
        security,
        querystring: Type.Object({ limit: Limit, cursor: Cursor }, { additionalProperties: false }),
        response: { 200: AuditPage, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const page = await db.tenant((tx) => listTenantAudit(tx, limit, decodeCursor(request.query.cursor, 'desc')));
      return { data: page.rows.map(entryView), nextCursor: page.next ? encodeCursor(page.next, 'desc') : null };
    },
  );

  app.get(
    '/v1/admin/audit',
    {
      config: { access: access.platformAdmin },
      schema: {
        tags: ['platform-admin'],
        summary: "Audit entries of every tenant (or one: tenantId), or of platform data (scope=platform)",
        security,
        querystring: AdminAuditQuery,
        response: { 200: AuditPage, ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const { limit = 50, cursor, scope = 'tenant', tenantId } = request.query;
      const after = decodeCursor(cursor, 'desc');
      const page = await db.service('platform admin: read audit log', (tx) =>
        scope === 'platform' ? listPlatformAudit(tx, limit, after) : unsafeListAllTenantsAudit(tx, tenantId, limit, after),
      );
      return { data: page.rows.map(entryView), nextCursor: page.next ? encodeCursor(page.next, 'desc') : null };
    },
  );
};
