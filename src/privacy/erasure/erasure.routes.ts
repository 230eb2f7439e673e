// POST /v1/me/erase (the signed-in user, with their current password), POST
// /v1/members/:userId/erase (an admin, for a member who has left) and POST /v1/tenant/erase
// (the owner, repeating the slug): each answers the erasure's certificate.

import { access, actorOf, signedInUser } from '../../http/access.js';
import { problems, UserIdParams } from '../../http/common-schemas.js';
import type { ModuleRoutes } from '../../modules/module.js';
import type { Certificate } from './certificate.js';
import { CertificateView, EraseSelfBody, EraseTenantBody } from './erasure.schemas.js';
import type { ErasureThrottle } from './erasure-throttle.js';
import type { PersonErasure } from './person-erasure.js';
import type { TenantErasure } from './tenant-erasure.js';

export interface ErasureRouteDeps {
  readonly personErasure: PersonErasure;
  readonly erasureThrottle: ErasureThrottle;
  readonly tenantErasure: TenantErasure;
}

export function certificateView(certificate: Certificate & { signature: string }) {
  return {
    id: certificate.id,
    kind: certificate.kind,
    subject: certificate.subject,
    scopeTenant: certificate.scopeTenant,
    requestedBy: certificate.requestedBy,
    erasedAt: certificate.erasedAt,
    tables: { ...certificate.body.tables },
    ...(certificate.body.files === undefined ? {} : { files: certificate.body.files }),
    signature: certificate.signature,
  };
}

export const erasureRoutes: ModuleRoutes<ErasureRouteDeps> = async (app, { personErasure, erasureThrottle, tenantErasure }) => {
  app.post(
    '/v1/me/erase',
    {
      config: { access: access.user },
      schema: {
        tags: ['privacy'],
        summary: 'Erase yourself: your account and your personal data in every tenant (current password required)',
        security: [{ bearer: [] }],
        body: EraseSelfBody,
        response: { 200: CertificateView, ...problems(400, 401, 403, 415, 'erasure-blocked', 'erasure-throttled') },
      },
    },
    async (request, reply) => {
      const { userId } = signedInUser(request);
      await erasureThrottle.admit(userId, reply);
      const { certificate } = await personErasure.eraseSelf(userId, request.body.password);
      return certificateView(certificate as Certificate & { signature: string });
    },
  );

  app.post(
    '/v1/members/:userId/erase',
    {
      config: { access: access.tenant('admin') },
      schema: {
        tags: ['privacy'],
        summary: "Erase a departed member's personal data from this tenant (admin)",
        security: [{ bearer: [] }],
        params: UserIdParams,
        response: { 200: CertificateView, ...problems(400, 401, 403, 404, 'erasure-blocked') },
      },
    },
    async (request) => {
      const { certificate } = await personErasure.eraseDepartedMember(actorOf(request), request.params.userId);
      return certificateView(certificate as Certificate & { signature: string });
    },
  );

  app.post(
    '/v1/tenant/erase',
    {
      config: { access: access.tenant('owner') },
      schema: {
        tags: ['privacy'],
        summary: 'Erase this tenant and all its data now, with a certificate (owner; repeat the slug in `confirm`)',
        security: [{ bearer: [] }],
        body: EraseTenantBody,
        response: { 200: CertificateView, ...problems(400, 401, 403, 404, 415) },
      },
    },
    async (request) => {
      const certificate = await tenantErasure.erase(actorOf(request), request.body.confirm);
      request.log.warn({ tenant_id: certificate.subject, certificate_id: certificate.id }, 'tenant erased on request');
      return certificateView(certificate as Certificate & { signature: string });
    },
  );
};
