// Accounts: users, their memberships, members and invitations, and signing in.

import { authModule } from '../auth/auth.module.js';
import { defineModule, routePlugins } from '../modules/module.js';
import { InvitationAcceptance } from './members/accept-invitation.js';
import { MemberManagement } from './members/manage-members.js';
import { membersRoutes, type MembersRouteDeps } from './members/members.routes.js';
import { signInRoutes, type SignInRouteDeps } from './sign-in.routes.js';

interface AccountsModuleDeps extends SignInRouteDeps, MembersRouteDeps {}

export const accountsModule = defineModule({
  name: 'accounts',
  dependsOn: [authModule],
  tenantTables: [
    // A membership is nothing but the person's link to the tenant: erasure deletes it.
    { name: 'memberships', identifies: { user_id: 'user_id' }, personal: { user_id: 'delete' } },
    {
      name: 'invitations',
      secret: ['token_hash'],
      identifies: { email: 'email', invited_by: 'user_id', accepted_by: 'user_id' },
      // An accepted invitation must name who accepted it (a CHECK): the person's acceptance goes whole.
      personal: { email: 'pseudonymise', invited_by: 'null', accepted_by: 'delete' },
    },
  ],
  identityLookups: [
    // Signing in and /v1/me list the user's own memberships before a tenant is chosen.
    { table: 'memberships', column: 'user_id', by: 'userId' },
    // Accepting an invitation finds it by its token alone.
    { table: 'invitations', column: 'token_hash', by: 'invitationTokenHash' },
  ],
  compose: ({ db, clock, sessions, authenticator, credentialThrottle, resolver, metering, invalidation }): AccountsModuleDeps => ({
    db,
    sessions,
    authenticator,
    credentialThrottle,
    invitations: new InvitationAcceptance({ db, sessions, clock, resolver, usage: metering.actions }),
    members: new MemberManagement(db, clock, invalidation, metering.actions),
  }),
  routes: routePlugins<AccountsModuleDeps>(signInRoutes, membersRoutes),
});
