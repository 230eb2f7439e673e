// Redeeming an invitation token. An account is proof of owning its email only once the address
// is verified (a link sent to it was followed), so the two ways in each need the token AND
// something else:
//   - signed in (a user access token) as the account whose email the invitation names, and
//     that address verified: an account squatting an address it never proved cannot join, or
//   - no account has that email yet: the token holder creates it (name and password), and the
//     new account gets a verification link like any new account.
// Holding an account alone never admits anyone, and holding the token never takes over an
// existing account. A squatted address does not block its owner for long: a password reset
// link goes to the address, and following it hands the account (and the proof) to its owner.
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
import { platformTx, type Database, type Tx } from '../../db/database.js';
import { AppError } from '../../http/problems.js';
import type { ActionUsage } from '../../metering/action-usage.js';
import { newId } from '../../db/ids.js';
import { listMembershipsOfUser } from '../membership-repository.js';
import { enterTenant } from '../../tenancy/enter-tenant.js';
import { recordUserAudit } from '../../audit/record-audit.js';
import type { AccountTables } from '../account-tables.js';
import type { Tables } from '../../db/tables.js';
import type { AccountMail } from '../email-ownership/account-mail.js';
import { isEmailVerified } from '../email-ownership/account-token-repository.js';
import type { TenantResolver } from '../../tenancy/resolve-tenant.js';
import { claimInvitation, findRedeemableInvitation, type RedeemableInvitation } from './invitation-repository.js';
import { countLiveMembers, upsertMembership } from './member-repository.js';

export interface AcceptInvitationInput {
  readonly token: string;
  /** The request's credential, if it carried one. */
  readonly principal: Principal | undefined;
  readonly name?: string | undefined;
  readonly password?: string | undefined;
  /** The request's id, for the audit row of the acceptance. */
  readonly requestId?: string | undefined;
}

type AccountTx = Tx<Tables & AccountTables>;

const unknownInvitation = () => new AppError('invalid-credentials', 'the invitation is unknown, used, withdrawn or expired');

export class InvitationAcceptance {
  constructor(
    private readonly deps: {
      readonly db: Database;
      readonly sessions: Sessions;
      readonly clock: Clock;
      readonly resolver: TenantResolver;
      readonly usage?: ActionUsage | undefined;
      /** Sends a new account its verification link, in the joining transaction. */
      readonly verification?: Pick<AccountMail, 'queueVerification' | 'brandOf'> | undefined;
    },
  ) {}

  /** Adds the membership and answers a token pair for the invitation's tenant. */
  async accept(input: AcceptInvitationInput): Promise<TokenPair> {
    const { db } = this.deps;
    const now = this.deps.clock.now();
    const tokenHash = sha256(input.token);
    const invitation = await db.identity({ invitationTokenHash: tokenHash }, (tx) => findRedeemableInvitation(tx, tokenHash, now));
    if (!invitation) throw unknownInvitation();
    return input.principal ? this.#asSignedInUser(invitation, input.principal, now, input.requestId) : this.#asNewUser(invitation, input, now);
  }

  async #asSignedInUser(invitation: RedeemableInvitation, principal: Principal, now: Date, requestId: string | undefined): Promise<TokenPair> {
    if (principal.kind !== 'user') throw new AppError('forbidden', 'accept an invitation as a person (a user access token), not with an API key');
    await this.deps.resolver.assertSessionLive(principal);
    const { user, verified } = await this.deps.db.withTables<AccountTables>().identity({ userId: principal.userId }, async (tx) => {
      const user = await findUserById(platformTx(tx), principal.userId);
      return { user, verified: user ? await isEmailVerified(tx, user.id, user.email) : false };
    });
    if (!user || user.status !== 'active') throw new AppError('invalid-credentials');
    if (user.email.toLowerCase() !== invitation.email.toLowerCase()) {
      throw new AppError('forbidden', 'this invitation is addressed to another email address than the signed-in user');
    }
    if (!verified) throw new AppError('email-unverified', 'verify your email address (follow the link sent to it) before accepting an invitation');
    return this.#join(invitation, now, user.id, async () => {}, requestId);
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
    const brand = await this.deps.verification?.brandOf(invitation.tenantId);
    return this.#join(invitation, now, userId, async (tx) => {
      // Two acceptances racing on one email: the second waits on the unique email index (or
      // the placeholder's row), then finds the account taken and is refused like any other.
      const account = existing
        ? await activatePlaceholder(platformTx(tx), userId, now, profile)
        : await insertUser(platformTx(tx), { id: userId, email: invitation.email, ...profile });
      if (!account) throw new AppError('invalid-credentials', 'this email has an account: sign in and accept with your access token');
      if (brand) await this.deps.verification?.queueVerification(tx, invitation.tenantId, brand, userId, invitation.email);
    }, input.requestId);
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
  #join(
    invitation: RedeemableInvitation,
    now: Date,
    userId: string,
    prepareUser: (tx: AccountTx) => Promise<void>,
    requestId: string | undefined,
  ): Promise<TokenPair> {
    const { tenantId } = invitation;
    return enterTenant(tenantId, () =>
      this.deps.db.withTables<AccountTables>().tenant(
        async (accountTx) => {
          await prepareUser(accountTx);
          const tx = platformTx(accountTx);
          // First, so a concurrent acceptance of the same token waits on this row and then finds it used.
          if (!(await claimInvitation(tx, invitation.invitationId, userId, now))) throw unknownInvitation();
          // The seat counter is locked and the members counted before the membership is written.
          await this.deps.usage?.seatAdded(tx, { tenantId }, countLiveMembers);
          const added = await upsertMembership(tx, tenantId, userId, invitation.role, now);
          if (!added) throw new AppError('conflict', 'already a member of this tenant');
          await recordUserAudit(tx, userId, requestId ?? null, {
            action: 'invitation.accepted',
            target: `invitation:${invitation.invitationId}`,
            before: null,
            after: { role: invitation.role },
          });
          return this.deps.sessions.start(tx, userId, tenantId);
        },
        { userId },
      ),
    );
  }
}
