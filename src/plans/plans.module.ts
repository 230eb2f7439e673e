// Plans: the catalog tenants choose from and what each plan includes.

import { defineModule } from '../modules/module.js';
import { platformModule } from '../platform/platform.module.js';
import { plansRoutes } from './plans.routes.js';

export const plansModule = defineModule({
  name: 'plans',
  dependsOn: [platformModule],
  routes: plansRoutes,
});
