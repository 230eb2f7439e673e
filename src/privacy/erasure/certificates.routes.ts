// GET /v1/admin/erasure-certificates/:id and GET /v1/admin/erasure-certificates?subject=…: the
// operator reads what an erasure removed, after the tenant or person is gone, with a check
// that the stored certificate still matches its signature.

import { Type } from 'typebox';
import { access } from '../../http/access.js';
import { IdParams, problems } from '../../http/common-schemas.js';
import { AppError } from '../../http/problems.js';
import type { Database } from '../../db/database.js';
import type { Tables } from '../../db/tables.js';
import type { ModuleRoutes } from '../../modules/module.js';
import type { PrivacyTables } from '../privacy-tables.js';
import { verifyCertificate, type Certificate } from './certificate.js';
import { certificateView } from './erasure.routes.js';
import { CertificateQuery, StoredCertificateView } from './erasure.schemas.js';

export interface CertificateRouteDeps {
  readonly privacyDb: Database<Tables & PrivacyTables>;
  readonly privacyKey: Buffer;
}

const READ_REASON = 'platform admin: read erasure certificates';

export const certificateRoutes: ModuleRoutes<CertificateRouteDeps> = async (app, { privacyDb, privacyKey }) => {
  const stored = (row: {
    id: string;
    kind: Certificate['kind'];
    subject: string;
    scope_tenant: string | null;
    requested_by: string;
    erased_at: Date;
    body: unknown;
    signature: string;
  }) => {
    const certificate: Certificate = {
      id: row.id,
      kind: row.kind,
      subject: row.subject,
      scopeTenant: row.scope_tenant,
      requestedBy: row.requested_by,
      erasedAt: row.erased_at.toISOString(),
      body: row.body as unknown as Certificate['body'],
    };
    return { ...certificateView({ ...certificate, signature: row.signature }), signatureValid: verifyCertificate(privacyKey, certificate, row.signature) };
  };

  app.get(
    '/v1/admin/erasure-certificates/:id',
    {
      config: { access: access.platformAdmin },
      schema: {
        tags: ['platform-admin'],
        summary: 'One erasure certificate, with whether it still matches its signature (platform admin only)',
        security: [{ bearer: [] }],
        params: IdParams,
        response: { 200: StoredCertificateView, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const row = await privacyDb.service(READ_REASON, (tx) => tx.selectFrom('erasure_certificates').selectAll().where('id', '=', request.params.id).executeTakeFirst());
      if (!row) throw new AppError('not-found', 'no such certificate');
      return stored(row);
    },
  );

  app.get(
    '/v1/admin/erasure-certificates',
    {
      config: { access: access.platformAdmin },
      schema: {
        tags: ['platform-admin'],
        summary: "Erasure certificates, newest first, optionally of one subject (a tenant's id or a pseudonym)",
        security: [{ bearer: [] }],
        querystring: CertificateQuery,
        response: { 200: Type.Object({ certificates: Type.Array(StoredCertificateView) }), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const { subject } = request.query;
      const rows = await privacyDb.service(READ_REASON, (tx) => {
        let query = tx.selectFrom('erasure_certificates').selectAll().orderBy('erased_at', 'desc').limit(100);
        if (subject) query = query.where('subject', '=', subject);
        return query.execute();
      });
      return { certificates: rows.map(stored) };
    },
  );
};
