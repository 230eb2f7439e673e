// Tenancy: provisioning, the tenant's profile, tenant deletion, the purge behind it, and the
// operator's restore of a deleted tenant before its purge.

import { accountMail, accountsModule } from '../accounts/accounts.module.js';
import { defineModule, routePlugins } from '../modules/module.js';
import { purgeDeletedTenantsJob, purgeSchedule } from './lifecycle/purge-job.js';
import { softDeleteTenant } from './lifecycle/delete-tenant.js';
import { tenantLifecycleRoutes, type TenantLifecycleRouteDeps } from './lifecycle/tenant-lifecycle.routes.js';
import { TenantProvisioning } from './provisioning/provision-tenant.js';
import { SignUpRequests } from './provisioning/sign-up-requests.js';
import { tenantsRoutes, type TenantsRouteDeps } from './provisioning/tenants.routes.js';
import { tenantProfileRoutes, type TenantProfileRouteDeps } from './provisioning/tenant-profile.routes.js';
import { TenantProfileUpdate } from './provisioning/update-tenant.js';

import { restoreRoutes, type RestoreRouteDeps } from './lifecycle/restore.routes.js';

interface TenancyModuleDeps extends TenantsRouteDeps, TenantLifecycleRouteDeps, TenantProfileRouteDeps, RestoreRouteDeps {}

export const tenancyModule = defineModule({
  name: 'tenancy',
  dependsOn: [accountsModule],
  jobs: [purgeDeletedTenantsJob],
  schedules: [purgeSchedule],
  compose: (services): TenancyModuleDeps => {
    const { db, clock, sessions, credentialThrottle, invalidation, config, modules, email } = services;
    const provisioning = new TenantProvisioning(db, sessions, accountMail(services));
    return {
      signUps: new SignUpRequests({ db, clock, provisioning, email, appUrl: config.mail.appUrl }),
      credentialThrottle,
      openSignup: config.openSignup,
      tenantProfile: new TenantProfileUpdate(db, clock, invalidation),
      restore: { db, clock, invalidation, tenantTables: modules.tenantTables },
      deleteTenant: (tenantId, confirmation) =>
        softDeleteTenant(db, clock, invalidation, config.purgeRetentionDays, modules.tenantTables, tenantId, confirmation),
    };
  },
  routes: routePlugins<TenancyModuleDeps>(tenantsRoutes, tenantLifecycleRoutes, tenantProfileRoutes, restoreRoutes),
});
