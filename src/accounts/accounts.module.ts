// Accounts: users, their memberships, members and invitations, and signing in; proving an
// email address, changing and resetting the password.

import { fileURLToPath } from 'node:url';
import { authModule } from '../auth/auth.module.js';
import { emailModule } from '../email/email.module.js';
import { TenantSettings } from '../settings/tenant-settings.js';
import { accountSecurityRoutes, type AccountSecurityRouteDeps } from './account-security.routes.js';
import { AccountMail } from './email-ownership/account-mail.js';
import { EmailVerification } from './email-ownership/email-verification.js';
import { PasswordChange } from './passwords/password-change.js';
import { PasswordReset } from './passwords/password-reset.js';
import { defineModule, routePlugins } from '../modules/module.js';
import type { Services } from '../services.js';
import { InvitationAcceptance } from './members/accept-invitation.js';
import { MemberManagement } from './members/manage-members.js';
import { membersRoutes, type MembersRouteDeps } from './members/members.routes.js';
import { signInRoutes, type SignInRouteDeps } from './sign-in.routes.js';

interface AccountsModuleDeps extends SignInRouteDeps, MembersRouteDeps, AccountSecurityRouteDeps {}

export const accountsModule = defineModule({
  name: 'accounts',
  dependsOn: [authModule, emailModule],
  // Global tables (no tenant): one-time account tokens and proven addresses.
  migrations: fileURLToPath(new URL('./migrations', import.meta.url)),
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
  // Its global tables are the person's own: erasing the person deletes their rows in each.
  personTables: [
    { name: 'account_tokens', identifies: { user_id: 'user_id', email: 'email' } },
    { name: 'verified_emails', identifies: { user_id: 'user_id', email: 'email' } },
    { name: 'known_devices', identifies: { user_id: 'user_id' } },
    // A sign-up not (yet) completed names its address and its owner's name.
    { name: 'signup_requests', identifies: { email: 'email' }, mentions: ['owner_name'] },
  ],
  identityLookups: [
    // Signing in and /v1/me list the user's own memberships before a tenant is chosen.
    { table: 'memberships', column: 'user_id', by: 'userId' },
    // Accepting an invitation finds it by its token alone.
    { table: 'invitations', column: 'token_hash', by: 'invitationTokenHash' },
  ],
  compose: (services): AccountsModuleDeps => {
    const { db, clock, sessions, authenticator, credentialThrottle, resolver, metering, invalidation } = services;
    const mail = accountMail(services);
    return {
      db,
      clock,
      sessions,
      authenticator,
      credentialThrottle,
      invitations: new InvitationAcceptance({ db, sessions, clock, resolver, usage: metering.actions, verification: mail }),
      members: new MemberManagement(db, clock, invalidation, metering.actions, mail),
      emailVerification: new EmailVerification(db, mail, clock),
      passwordChange: new PasswordChange(db, clock),
      passwordReset: new PasswordReset(db, mail, clock),
    };
  },
  routes: routePlugins<AccountsModuleDeps>(signInRoutes, membersRoutes, accountSecurityRoutes),
});

/** Account emails carry the tenant's branding, resolved as the settings routes resolve it. */
export function accountMail(services: Services): AccountMail {
  const { db, platformCatalog, tenantProfiles, invalidation, clock, email, config } = services;
  const settings = new TenantSettings(db, platformCatalog, tenantProfiles, invalidation, clock);
  return new AccountMail({ db, email, settings, clock, appUrl: config.mail.appUrl });
}
