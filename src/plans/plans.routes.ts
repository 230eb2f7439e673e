// GET /v1/plans (public catalog) and PATCH /v1/tenant/plan (owner; applies at once).

import { Type } from 'typebox';
import { planFeatures } from '../flags/flags.js';
import { access, actorOf } from '../http/access.js';
import { problems } from '../http/common-schemas.js';
import type { ModuleRoutes } from '../modules/module.js';
import type { PlanChange } from './change-plan.js';
import { ChangePlanBody, PlanView, planView, TenantPlanView } from './plans.schemas.js';
import type { PlatformCatalog } from './platform-catalog.js';

export interface PlansRouteDeps {
  readonly platformCatalog: PlatformCatalog;
  readonly planChange: PlanChange;
}

export const plansRoutes: ModuleRoutes<PlansRouteDeps> = async (app, { platformCatalog, planChange }) => {
  app.get(
    '/v1/plans',
    {
      config: { access: access.public },
      schema: {
        tags: ['plans'],
        summary: 'The plan catalog, cheapest first: prices, limits (null = unlimited), rate limits, features',
        response: { 200: Type.Object({ data: Type.Array(PlanView) }) },
      },
    },
    async () => {
      const snapshot = await platformCatalog.snapshot();
      return { data: snapshot.plans.map((plan) => planView(plan, planFeatures(snapshot, plan.key))) };
    },
  );

  app.patch(
    '/v1/tenant/plan',
    {
      config: { access: access.tenant('owner') },
      schema: {
        tags: ['plans'],
        summary: "Change the tenant's plan (owner only); applies immediately",
        security: [{ bearer: [] }],
        body: ChangePlanBody,
        response: { 200: TenantPlanView, ...problems(400, 401, 403, 404, 415) },
      },
    },
    async (request) => planChange.change(actorOf(request), request.body.plan),
  );
};
