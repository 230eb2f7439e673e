// Feature flags: plan defaults, tenant overrides and their evaluation.

import { defineModule, routePlugins } from '../modules/module.js';
import { plansModule } from '../plans/plans.module.js';
import { adminFlagsRoutes } from './admin-flags.routes.js';
import { flagsRoutes } from './flags.routes.js';

export const flagsModule = defineModule({
  name: 'flags',
  dependsOn: [plansModule],
  tenantTables: [{ name: 'flag_overrides' }],
  routes: routePlugins(flagsRoutes, adminFlagsRoutes),
});
