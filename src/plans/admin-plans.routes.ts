// /v1/admin/plans…: the platform operator edits the plan catalog (prices, limits, flags),
// creates plans and retires them. Operator credential only; every change goes through the
// audited service role and reaches every instance's catalog cache.

import { Type } from 'typebox';
import { access, platformOperatorOf } from '../http/access.js';
import { problems } from '../http/common-schemas.js';
import type { ModuleRoutes } from '../modules/module.js';
import { AdminPlanView, adminPlanView, CreatePlanBody, PlanKeyParams, RetirePlanBody, UpdatePlanBody } from './admin-plans.schemas.js';
import type { PlanAdministration, PlanRecord } from './plan-administration.js';

export interface AdminPlansRouteDeps {
  readonly planAdministration: PlanAdministration;
}

const view = (record: PlanRecord) => adminPlanView(record.plan, record.flags);

export const adminPlansRoutes: ModuleRoutes<AdminPlansRouteDeps> = async (app, { planAdministration }) => {
  const config = { access: access.platformAdmin };
  const security = [{ bearer: [] }];
  const tags = ['platform-admin', 'plans'];

  app.get(
    '/v1/admin/plans',
    {
      config,
      schema: {
        tags,
        summary: 'The whole plan catalog, retired plans included, with each plan\'s prices and flags (platform admin only)',
        security,
        response: { 200: Type.Object({ data: Type.Array(AdminPlanView) }), ...problems(401, 403) },
      },
    },
    async () => ({ data: (await planAdministration.list()).map(view) }),
  );

  app.post(
    '/v1/admin/plans',
    {
      config,
      schema: {
        tags,
        summary: 'Create a plan: price, limits, metered prices, flags (platform admin only)',
        security,
        body: CreatePlanBody,
        response: { 201: AdminPlanView, ...problems(400, 401, 403, 'conflict', 415) },
      },
    },
    async (request, reply) => {
      const { key, ...input } = request.body;
      reply.code(201);
      return view(await planAdministration.create(platformOperatorOf(request), key, input));
    },
  );

  app.patch(
    '/v1/admin/plans/:key',
    {
      config,
      schema: {
        tags,
        summary: "Change a plan's price, limits, metered prices, flags, name or order; applies to every tenant on it at once (platform admin only)",
        security,
        params: PlanKeyParams,
        body: UpdatePlanBody,
        response: { 200: AdminPlanView, ...problems(400, 401, 403, 404, 415) },
      },
    },
    async (request) => view(await planAdministration.update(platformOperatorOf(request), request.params.key, request.body)),
  );

  app.post(
    '/v1/admin/plans/:key/retire',
    {
      config,
      schema: {
        tags,
        summary: 'Retire a plan: tenants on it keep it; sign-ups and plan changes can no longer choose it (platform admin only)',
        security,
        params: PlanKeyParams,
        body: RetirePlanBody,
        response: { 200: AdminPlanView, ...problems(400, 401, 403, 404, 'conflict', 415) },
      },
    },
    async (request) => view(await planAdministration.retire(platformOperatorOf(request), request.params.key, request.body.reason)),
  );
};
