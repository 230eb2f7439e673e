// Tenancy: provisioning, members and invitations, tenant deletion and the purge behind it.

import { defineModule, routePlugins } from '../modules/module.js';
import { platformModule } from '../platform/platform.module.js';
import { purgeDeletedTenantsJob, purgeSchedule } from './lifecycle/purge-job.js';
import { tenantLifecycleRoutes } from './lifecycle/tenant-lifecycle.routes.js';
import { membersRoutes } from './members/members.routes.js';
import { tenantsRoutes } from './provisioning/tenants.routes.js';

export const tenancyModule = defineModule({
  name: 'tenancy',
  dependsOn: [platformModule],
  tenantTables: [
    { name: 'memberships' },
    { name: 'invitations', secret: ['token_hash'], personal: { email: 'pseudonymise' } },
  ],
  identityLookups: [
    // Signing in and /v1/me list the user's own memberships before a tenant is chosen.
    { table: 'memberships', column: 'user_id', by: 'userId' },
    // Accepting an invitation finds it by its token alone.
    { table: 'invitations', column: 'token_hash', by: 'invitationTokenHash' },
  ],
  jobs: [purgeDeletedTenantsJob],
  schedules: [purgeSchedule],
  routes: routePlugins(tenantsRoutes, membersRoutes, tenantLifecycleRoutes),
});
