// The rules for changing a tenant's members: only owners and admins invite and change
// members, only owners touch owners, and the last owner can be neither removed nor demoted.
// Nobody is added directly: an invitation is issued, and the membership is written when it
// is accepted (accept-invitation.ts).

import { randomSecret, sha256 } from '../../auth/opaque-tokens.js';
import type { CacheInvalidation } from '../../cache/cache-invalidation.js';
import type { Clock } from '../../clock.js';
import { isUniqueViolation } from '../../db/constraint-violation.js';
import type { Database, Tx } from '../../db/database.js';
import { newId } from '../../db/ids.js';
import type { Role } from '../../db/tables.js';
import type { Page, PagePosition } from '../../db/keyset-page.js';
import { AppError } from '../../http/problems.js';
import type { ActionUsage } from '../../metering/action-usage.js';
import { recordAudit } from '../../audit/record-audit.js';
import type { AccountMail } from '../email-ownership/account-mail.js';
import type { Actor } from '../../tenancy/actor.js';
import {
  countOpenInvitations,
  insertInvitation,
  listPendingInvitations,
  withdrawExpiredInvitationsOf,
  withdrawInvitation,
  type PendingInvitation,
} from './invitation-repository.js';
import {
  countLiveMembers,
  findMember,
  findMemberByEmail,
  lockOwners,
  removeMembership,
  setRole,
  type MemberRow,
} from './member-repository.js';

export const INVITATION_TTL_MS = 7 * 86_400_000;

function assertMayGrant(actor: Actor, role: Role): void {
  if (role === 'owner' && actor.role !== 'owner') throw new AppError('forbidden', 'only an owner can make someone an owner');
}

async function existingMember(tx: Tx, actor: Actor, userId: string): Promise<MemberRow> {
  const member = await findMember(tx, userId);
  if (!member) throw new AppError('not-found', 'no member with this user id in this tenant');
  if (member.role === 'owner' && actor.role !== 'owner') throw new AppError('forbidden', 'only an owner can change an owner');
  return member;
}

async function assertNotLastOwner(tx: Tx, member: MemberRow): Promise<void> {
  if (member.role !== 'owner') return;
  const owners = await lockOwners(tx);
  if (owners.length <= 1) throw new AppError('last-owner', 'promote another owner first');
}

export interface IssuedInvitation extends PendingInvitation {
  /** inv_<secret>, shown once; only its SHA-256 is stored. */
  invitationToken: string;
}

export class MemberManagement {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    /** Tells every instance a member's access changed, so none serves a request on the old role. */
    private readonly invalidation: CacheInvalidation,
    private readonly usage?: ActionUsage,
    /** Mails the invitee the acceptance link, in the inviting transaction (the outbox). */
    private readonly invitationMail?: Pick<AccountMail, 'brandOf' | 'queueInvitation'>,
  ) {}

  /**
   * Invites an email to this tenant. Never looks at (or creates) a user: the answer is the
   * same whether or not an account has this email, and nobody joins until the invitation is
   * accepted by whoever holds the token and, if an account has the email, signs in as it.
   * An open invitation holds a seat: past the plan's seats (members plus open invitations)
   * the invitation is refused with 403 plan-limit-reached, so it is not sent in vain.
   */
  async invite(actor: Actor, email: string, role: Role): Promise<IssuedInvitation> {
    assertMayGrant(actor, role);
    const now = this.clock.now();
    const invitationToken = 'inv_' + randomSecret();
    const brand = await this.invitationMail?.brandOf(actor.tenantId);
    try {
      return await this.db.tenant(async (tx) => {
        // This tenant's own members only: nothing about accounts elsewhere is read.
        if (await findMemberByEmail(tx, email)) throw new AppError('conflict', 'this email is already a member of this tenant');
        await withdrawExpiredInvitationsOf(tx, email, now);
        const invitation = await insertInvitation(tx, {
          id: newId(),
          email,
          role,
          tokenHash: sha256(invitationToken),
          invitedBy: actor.userId ?? null,
          expiresAt: new Date(now.getTime() + INVITATION_TTL_MS),
        });
        // Counted after the insert, under the seat counter's lock. The insert may wait for an
        // acceptance of the same email (unique index), which takes its invitation row before
        // that lock: one order for both, so they cannot deadlock. Concurrent invitations wait
        // on the lock and then count each other.
        await this.usage?.seatOffered(tx, actor, async (tx) => (await countLiveMembers(tx)) + (await countOpenInvitations(tx, now)));
        // The address stays in the invitation row (erasure pseudonymises it there); the audit names the row.
        await recordAudit(tx, actor, { action: 'invitation.sent', target: `invitation:${invitation.invitationId}`, before: null, after: { role } });
        if (brand) await this.invitationMail?.queueInvitation(tx, actor.tenantId, brand, { email, role, token: invitationToken });
        return { ...invitation, invitationToken };
      });
    } catch (error) {
      if (isUniqueViolation(error, 'invitations_live_email_key')) {
        throw new AppError('conflict', 'this email already has a pending invitation to this tenant; withdraw it to send a new one');
      }
      throw error;
    }
  }

  listInvitations(actor: Actor, limit: number, after: PagePosition | undefined): Promise<Page<PendingInvitation>> {
    const now = this.clock.now();
    return this.db.tenant((tx) => listPendingInvitations(tx, now, limit, after));
  }

  async withdrawInvitation(actor: Actor, id: string): Promise<void> {
    const now = this.clock.now();
    await this.db.tenant(async (tx) => {
      if (!(await withdrawInvitation(tx, id, now))) throw new AppError('not-found', 'no pending invitation with this id in this tenant');
      await recordAudit(tx, actor, { action: 'invitation.withdrawn', target: `invitation:${id}`, before: null, after: null });
    });
  }

  async changeRole(actor: Actor, userId: string, role: Role): Promise<MemberRow> {
    assertMayGrant(actor, role);
    const now = this.clock.now();
    return this.db.tenant(async (tx) => {
      const member = await existingMember(tx, actor, userId);
      if (member.role === role) return member;
      await assertNotLastOwner(tx, member);
      await setRole(tx, userId, role, now);
      await recordAudit(tx, actor, { action: 'member.role_changed', target: `user:${userId}`, before: { role: member.role }, after: { role } });
      await this.invalidation.record(tx, { scope: 'tenant', tenantId: actor.tenantId });
      return { ...member, role };
    });
  }

  async remove(actor: Actor, userId: string): Promise<void> {
    const now = this.clock.now();
    await this.db.tenant(async (tx) => {
      await this.usage?.lockSeats(tx);
      const member = await existingMember(tx, actor, userId);
      await assertNotLastOwner(tx, member);
      await removeMembership(tx, userId, now);
      await recordAudit(tx, actor, { action: 'member.removed', target: `user:${userId}`, before: { role: member.role }, after: null });
      await this.invalidation.record(tx, { scope: 'tenant', tenantId: actor.tenantId });
      await this.usage?.seatRemoved(tx, actor, countLiveMembers);
    });
  }
}
