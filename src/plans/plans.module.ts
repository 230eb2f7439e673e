// Plans: the catalog tenants choose from and what each plan includes, and the operator's
// edits of it (prices, limits, flags; new and retired plans) without a migration.

import { defineModule, routePlugins } from '../modules/module.js';
import { platformModule } from '../platform/platform.module.js';
import { adminPlansRoutes, type AdminPlansRouteDeps } from './admin-plans.routes.js';
import { PlanAdministration } from './plan-administration.js';
import { plansRoutes, type PlansRouteDeps } from './plans.routes.js';

interface PlansModuleDeps extends PlansRouteDeps, AdminPlansRouteDeps {}

export const plansModule = defineModule({
  name: 'plans',
  dependsOn: [platformModule],
  compose: ({ db, invalidation, clock, platformCatalog }): PlansModuleDeps => ({
    platformCatalog,
    planAdministration: new PlanAdministration(db, invalidation, clock),
  }),
  routes: routePlugins<PlansModuleDeps>(plansRoutes, adminPlansRoutes),
});
