// GET /v1/plans: the public catalog, the plans a tenant may choose (retired plans left out).
// Changing a tenant's plan is billing's (src/billing/plan-changes/).

import { Type } from 'typebox';
import { planFeatures } from '../flags/flags.js';
import { access } from '../http/access.js';
import type { ModuleRoutes } from '../modules/module.js';
import { PlanView, planView } from './plans.schemas.js';
import type { PlatformCatalog } from './platform-catalog.js';

export interface PlansRouteDeps {
  readonly platformCatalog: PlatformCatalog;
}

export const plansRoutes: ModuleRoutes<PlansRouteDeps> = async (app, { platformCatalog }) => {
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
      const choosable = snapshot.plans.filter((plan) => !plan.retiredAt);
      return { data: choosable.map((plan) => planView(plan, planFeatures(snapshot, plan.key))) };
    },
  );
};
