// Redeeming an invitation token. Accounts are not proof of owning an email (sign-up is open
// and unverified), so the two ways in each need the token AND something else:
//   - signed in (a user access token) as the account whose email the invitation names, or
//   - no account has that email yet: the token holder creates it (name and password).
// Holding an account alone never admits anyone, and holding the token never takes over an
// existing account: a squatted email can block an invitation, never breach a tenant.
// The membership, the seat check, the new user (if any) and the acceptance are one
// transaction in the invitation's tenant scope.

import type { Principal } from '../../auth/authenticate.js';
import { sha256 } from '../../auth/opaque-tokens.js';
import { hashPassword } from '../../auth/passwords.js';
import type { Sessions, TokenPair } from '../../auth/sessions.js';
import {
  activatePlaceholder,
  findCredentialsByEmail,
  findUserById,
  insertUser,
  type UserCredentials,
} from '../user-repository.js';
import type { Clock } from '../../clock.js';
import type { Database, Tx } from '../../db/database.js';
import { AppError } from '../../http/problems.js';
import type { ActionUsage } from '../../metering/action-usage.js';
import { newId } from '../../db/ids.js';
import { listMembershipsOfUser } from '../membership-repository.js';
import { enterTenant } from '../../tenancy/enter-tenant.js';
import type { TenantResolver } from '../../tenancy/resolve-tenant.js';
import { claimInvitation, findRedeemableInvitation, type RedeemableInvitation } from './invitation-repository.js';
import { countLiveMembers, upsertMembership } from './member-repository.js';

export interface AcceptInvitationInput {
  readonly token: string;
  /** The request's credential, if it carried one. */
  readonly principal: Principal | undefined;
  readonly name?: string | undefined;
  readonly password?: string | undefined;
}

const unknownInvitation = () => new AppError('invalid-credentials', 'the invitation is unknown, used, withdrawn or expired');

export class InvitationAcceptance {
  constructor(
    private readonly deps: {
      readonly db: Database;
      readonly sessions: Sessions;
      readonly clock: Clock;
      readonly resolver: TenantResolver;
      readonly usage?: ActionUsage | undefined;
    },
  ) {}

  /** Adds the membership and answers a token pair for the invitation's tenant. */
  async accept(input: AcceptInvitationInput): Promise<TokenPair> {
    const { db } = this.deps;
    const now = this.deps.clock.now();
    const tokenHash = sha256(input.token);
    const invitation = await db.identity({ invitationTokenHash: tokenHash }, (tx) => findRedeemableInvitation(tx, tokenHash, now));
    if (!invitation) throw unknownInvitation();
    return input.principal ? this.#asSignedInUser(invitation, input.principal, now) : this.#asNewUser(invitation, input, now);
  }

  async #asSignedInUser(invitation: RedeemableInvitation, principal: Principal, now: Date): Promise<TokenPair> {
    if (principal.kind !== 'user') throw new AppError('forbidden', 'accept an invitation as a person (a user access token), not with an API key');
    await this.deps.resolver.assertSessionLive(principal);
    const user = await this.deps.db.identity({ userId: principal.userId }, (tx) => findUserById(tx, principal.userId));
    if (!user || user.status !== 'active') throw new AppError('invalid-credentials');
    if (user.email.toLowerCase() !== invitation.email.toLowerCase()) {
      throw new AppError('forbidden', 'this invitation is addressed to another email address than the signed-in user');
    }
    return this.#join(invitation, now, user.id, async () => {});
  }

  async #asNewUser(invitation: RedeemableInvitation, input: AcceptInvitationInput, now: Date): Promise<TokenPair> {
    const { db } = this.deps;
    const existing = await db.identity({ email: invitation.email }, findCredentialsByEmail);
    const placeholder = existing && (await this.#isFreePlaceholder(existing));
    if (existing && !placeholder) {
      throw new AppError('invalid-credentials', 'this email has an account: sign in and accept with your access token');
    }
    if (!input.name || !input.password) {
      throw new AppError('validation-failed', 'name and password are required to create the account', {
        field: input.name ? 'password' : 'name',
      });
    }
    const profile = { name: input.name, passwordHash: await hashPassword(input.password) };
    const userId = existing?.id ?? newId();
    return this.#join(invitation, now, userId, async (tx) => {
      // Two acceptances racing on one email: the second waits on the unique email index (or
      // the placeholder's row), then finds the account taken and is refused like any other.
      const account = existing
        ? await activatePlaceholder(tx, userId, now, profile)
        : await insertUser(tx, { id: userId, email: invitation.email, ...profile });
      if (!account) throw new AppError('invalid-credentials', 'this email has an account: sign in and accept with your access token');
    });
  }

  /**
   * A user row the old invitation flow left behind (status 'invited', no password) that
   * belongs to no tenant: nobody can sign in as it, so the token holder may take it up.
   * One that still has a pending membership somewhere stays blocked until that tenant
   * removes it: activating it would let this token holder into that tenant.
   */
  async #isFreePlaceholder(account: UserCredentials): Promise<boolean> {
    if (account.status !== 'invited' || account.passwordHash !== null) return false;
    const memberships = await this.deps.db.identity({ userId: account.id }, (tx) => listMembershipsOfUser(tx, account.id));
    return memberships.length === 0;
  }

  /**
   * One transaction in the invitation's tenant, naming the user who joins: the user (if
   * new), acceptance, seat, membership, session. The request acts in no tenant (the invitee
   * is not a member yet), so it enters the invitation's.
   */
  #join(invitation: RedeemableInvitation, now: Date, userId: string, prepareUser: (tx: Tx) => Promise<void>): Promise<TokenPair> {
    const { tenantId } = invitation;
    return enterTenant(tenantId, () =>
      this.deps.db.tenant(
        async (tx) => {
          await prepareUser(tx);
          // First, so a concurrent acceptance of the same token waits on this row and then finds it used.
          if (!(await claimInvitation(tx, invitation.invitationId, userId, now))) throw unknownInvitation();
          // The seat counter is locked and the members counted before the membership is written.
          await this.deps.usage?.seatAdded(tx, { tenantId }, countLiveMembers);
          const added = await upsertMembership(tx, tenantId, userId, invitation.role, now);
          if (!added) throw new AppError('conflict', 'already a member of this tenant');
          return this.deps.sessions.start(tx, userId, tenantId);
        },
        { userId },
      ),
    );
  }
}
