// Tenancy: provisioning, tenant deletion and the purge behind it.

import { accountsModule } from '../accounts/accounts.module.js';
import { defineModule, routePlugins } from '../modules/module.js';
import { purgeDeletedTenantsJob, purgeSchedule } from './lifecycle/purge-job.js';
import { tenantLifecycleRoutes } from './lifecycle/tenant-lifecycle.routes.js';
import { tenantsRoutes } from './provisioning/tenants.routes.js';

export const tenancyModule = defineModule({
  name: 'tenancy',
  dependsOn: [accountsModule],
  jobs: [purgeDeletedTenantsJob],
  schedules: [purgeSchedule],
  routes: routePlugins(tenantsRoutes, tenantLifecycleRoutes),
});
