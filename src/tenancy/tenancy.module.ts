// Tenancy: provisioning, tenant deletion and the purge behind it.

import { accountMail, accountsModule } from '../accounts/accounts.module.js';
import { defineModule, routePlugins } from '../modules/module.js';
import { purgeDeletedTenantsJob, purgeSchedule } from './lifecycle/purge-job.js';
import { softDeleteTenant } from './lifecycle/delete-tenant.js';
import { tenantLifecycleRoutes, type TenantLifecycleRouteDeps } from './lifecycle/tenant-lifecycle.routes.js';
import { TenantProvisioning } from './provisioning/provision-tenant.js';
import { tenantsRoutes, type TenantsRouteDeps } from './provisioning/tenants.routes.js';

interface TenancyModuleDeps extends TenantsRouteDeps, TenantLifecycleRouteDeps {}

export const tenancyModule = defineModule({
  name: 'tenancy',
  dependsOn: [accountsModule],
  jobs: [purgeDeletedTenantsJob],
  schedules: [purgeSchedule],
  compose: (services): TenancyModuleDeps => {
    const { db, clock, sessions, credentialThrottle, invalidation, config, modules } = services;
    return {
      provisioning: new TenantProvisioning(db, sessions, accountMail(services)),
      credentialThrottle,
      openSignup: config.openSignup,
      deleteTenant: (tenantId, confirmation) =>
        softDeleteTenant(db, clock, invalidation, config.purgeRetentionDays, modules.tenantTables, tenantId, confirmation),
    };
  },
  routes: routePlugins<TenancyModuleDeps>(tenantsRoutes, tenantLifecycleRoutes),
});
