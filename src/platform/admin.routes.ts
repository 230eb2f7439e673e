// Platform-admin API: the only HTTP path across tenants. Every handler goes through the
// audited service role with a named reason; only the operator's credential is accepted.

import { sql } from 'kysely';
import { Type } from 'typebox';
import type { Database, Tx } from '../db/database.js';
import { keysetPage } from '../db/keyset-page.js';
import { access } from '../http/access.js';
import { IdParams, problems } from '../http/common-schemas.js';
import { decodeCursor, encodeCursor } from '../http/page-cursor.js';
import { PageOf } from '../http/page.schemas.js';
import { AppError } from '../http/problems.js';
import type { ModuleRoutes } from '../modules/module.js';
import { AdminTenantDetail, AdminTenantView, ListTenantsQuery } from './admin.schemas.js';

function tenantsWithMemberCounts(tx: Tx) {
  return tx
    .selectFrom('tenants as t')
    .select(['t.id', 't.name', 't.slug', 't.subdomain', 't.plan', 't.status', 't.created_at', 't.deleted_at'])
    .select((eb) =>
      eb
        .selectFrom('memberships as m')
        .select(sql<number>`count(*)::int`.as('n'))
        .whereRef('m.tenant_id', '=', 't.id')
        .where('m.deleted_at', 'is', null)
        .as('members'),
    );
}

type TenantRow = Awaited<ReturnType<ReturnType<typeof tenantsWithMemberCounts>['execute']>>[number];

function view(row: TenantRow) {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    subdomain: row.subdomain,
    plan: row.plan,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    deletedAt: row.deleted_at?.toISOString() ?? null,
    members: row.members ?? 0,
  };
}

export interface AdminRouteDeps {
  readonly db: Database;
  /** The registered tenant tables: a tenant's detail counts its rows in each. */
  readonly tenantTables: ReadonlySet<string>;
}

export const adminRoutes: ModuleRoutes<AdminRouteDeps> = async (app, { db, tenantTables }) => {
  const security = [{ bearer: [] }];

  app.get(
    '/v1/admin/tenants',
    {
      config: { access: access.platformAdmin },
      schema: {
        tags: ['platform-admin'],
        summary: 'Every tenant, oldest first (platform admin only)',
        security,
        querystring: ListTenantsQuery,
        response: { 200: PageOf(AdminTenantView), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const { limit = 50, cursor, status } = request.query;
      const after = decodeCursor(cursor, 'asc');
      const page = await db.service('platform admin: list tenants', (tx) => {
        let query = tenantsWithMemberCounts(tx);
        if (status) query = query.where('t.status', '=', status);
        return keysetPage(query, { at: 't.created_at', id: 't.id' }, { limit, sort: 'asc', after });
      });
      return { data: page.rows.map(view), nextCursor: page.next ? encodeCursor(page.next, 'asc') : null };
    },
  );

  app.get(
    '/v1/admin/tenants/:id',
    {
      config: { access: access.platformAdmin },
      schema: {
        tags: ['platform-admin'],
        summary: 'One tenant with its row counts (platform admin only)',
        security,
        params: IdParams,
        response: { 200: AdminTenantDetail, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const detail = await db.service('platform admin: read tenant', async (tx) => {
        const tenant = await tenantsWithMemberCounts(tx).where('t.id', '=', id).executeTakeFirst();
        if (!tenant) return undefined;
        // One statement over every registered module's tenant tables.
        const { rows } = await sql<{ name: string; n: number }>`${sql.join(
          [...tenantTables].map(
            (table) =>
              sql`SELECT ${table}::text AS name, count(*)::int AS n FROM ${sql.table(table)} WHERE tenant_id = ${id} AND deleted_at IS NULL`,
          ),
          sql` UNION ALL `,
        )}`.execute(tx);
        return { tenant, counts: Object.fromEntries(rows.map((row) => [row.name, row.n])) };
      });
      if (!detail) throw new AppError('not-found', 'no tenant with this id');
      return { ...view(detail.tenant), counts: detail.counts };
    },
  );
};
