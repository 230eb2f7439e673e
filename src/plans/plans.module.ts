// Plans: the catalog tenants choose from and what each plan includes.

import { defineModule } from '../modules/module.js';
import { platformModule } from '../platform/platform.module.js';
import { PlanChange } from './change-plan.js';
import { plansRoutes, type PlansRouteDeps } from './plans.routes.js';

export const plansModule = defineModule({
  name: 'plans',
  dependsOn: [platformModule],
  compose: ({ db, plans, invalidation, clock, platformCatalog }): PlansRouteDeps => ({
    platformCatalog,
    planChange: new PlanChange(db, plans, invalidation, clock),
  }),
  routes: plansRoutes,
});
