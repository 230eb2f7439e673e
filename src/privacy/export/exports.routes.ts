// POST /v1/tenant/export (owner) starts an export; GET /v1/tenant/exports/:id (owner) answers
// its status and, once ready, a signed link; GET /v1/exports/:id/archive streams the archive
// to whoever holds a valid link (the link is the credential, see download-link.ts).

import { Type } from 'typebox';
import { access, actorOf } from '../../http/access.js';
import { IdParams, problems } from '../../http/common-schemas.js';
import type { ModuleRoutes } from '../../modules/module.js';
import type { ExportRow } from './export-repository.js';
import { ArchiveParams, ArchiveQuery, ExportView } from './exports.schemas.js';
import type { ExportStatus, TenantExports } from './tenant-exports.js';

export interface ExportRouteDeps {
  readonly exports: TenantExports;
}

function view(row: ExportRow, download?: ExportStatus['download']) {
  return {
    id: row.id,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
    expiresAt: row.expires_at.toISOString(),
    archiveBytes: row.archive_bytes === null ? null : Number(row.archive_bytes),
    archiveSha256: row.archive_sha256,
    failure: row.failure,
    ...(download ? { download: { url: download.path, expiresAt: download.expiresAt.toISOString() } } : {}),
  };
}

export const exportRoutes: ModuleRoutes<ExportRouteDeps> = async (app, { exports }) => {
  app.post(
    '/v1/tenant/export',
    {
      config: { access: access.tenant('owner') },
      schema: {
        tags: ['privacy'],
        summary: "Start an export of every row of this tenant's data (owner only)",
        security: [{ bearer: [] }],
        response: { 202: ExportView, ...problems(401, 403, 'export-in-progress') },
      },
    },
    async (request, reply) => reply.code(202).send(view(await exports.request(actorOf(request)))),
  );

  app.get(
    '/v1/tenant/exports/:id',
    {
      config: { access: access.tenant('owner') },
      schema: {
        tags: ['privacy'],
        summary: "An export's status and, once ready, a signed download link that expires",
        security: [{ bearer: [] }],
        params: IdParams,
        response: { 200: ExportView, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { row, download } = await exports.status(actorOf(request), request.params.id);
      return view(row, download);
    },
  );

  app.get(
    '/v1/exports/:id/archive',
    {
      config: { access: access.public },
      schema: {
        tags: ['privacy'],
        summary: 'Download an export archive (tar.gz) with the signed link its status gave',
        params: ArchiveParams,
        querystring: ArchiveQuery,
        produces: ['application/gzip'],
        response: { 200: Type.Unknown({ description: 'The archive (application/gzip)' }), ...problems(400, 'invalid-download-link', 'download-link-expired', 'export-gone') },
      },
    },
    async (request, reply) => {
      const { tenant, expires, signature } = request.query;
      const archive = await exports.download({ tenantId: tenant, exportId: request.params.id, expires }, signature);
      return reply
        .type('application/gzip')
        .header('content-length', archive.bytes)
        .header('content-disposition', `attachment; filename="tenant-export-${archive.row.id}.tar.gz"`)
        .header('cache-control', 'no-store')
        .send(archive.stream);
    },
  );
};
