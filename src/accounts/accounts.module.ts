// Accounts: users, their memberships, members and invitations, and signing in.

import { authModule } from '../auth/auth.module.js';
import { defineModule, routePlugins } from '../modules/module.js';
import { membersRoutes } from './members/members.routes.js';
import { signInRoutes } from './sign-in.routes.js';

export const accountsModule = defineModule({
  name: 'accounts',
  dependsOn: [authModule],
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
  routes: routePlugins(signInRoutes, membersRoutes),
});
