// The rules for changing a tenant's members: only owners and admins change members, only
// owners touch owners, and the last owner can be neither removed nor demoted.

import { randomSecret, sha256 } from '../../auth/opaque-tokens.js';
import { findUserByEmail, insertOrFindUser } from '../../auth/user-repository.js';
import type { Clock } from '../../clock.js';
import type { Database, Tx } from '../../db/database.js';
import type { Role } from '../../db/tables.js';
import { AppError } from '../../http/problems.js';
import type { ActionUsage } from '../../metering/action-usage.js';
import { currentContext, currentTenantId } from '../context.js';
import { listMembershipsOfUser } from '../membership-repository.js';
import {
  countLiveMembers,
  findMember,
  lockOwners,
  removeMembership,
  setRole,
  upsertMembership,
  type MemberRow,
} from './member-repository.js';

const INVITATION_TTL_MS = 7 * 86_400_000;

function actorRole(): Role {
  const role = currentContext()?.role;
  if (!role) throw new AppError('forbidden');
  return role;
}

function assertMayGrant(role: Role): void {
  if (role === 'owner' && actorRole() !== 'owner') throw new AppError('forbidden', 'only an owner can make someone an owner');
}

async function existingMember(tx: Tx, userId: string): Promise<MemberRow> {
  const member = await findMember(tx, userId);
  if (!member) throw new AppError('not-found', 'no member with this user id in this tenant');
  if (member.role === 'owner' && actorRole() !== 'owner') throw new AppError('forbidden', 'only an owner can change an owner');
  return member;
}

async function assertNotLastOwner(tx: Tx, member: MemberRow): Promise<void> {
  if (member.role !== 'owner') return;
  const owners = await lockOwners(tx);
  if (owners.length <= 1) throw new AppError('last-owner', 'promote another owner first');
}

export interface AddedMember extends MemberRow {
  invitationToken?: string;
}

export class MemberManagement {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly usage?: ActionUsage,
  ) {}

  /** Adds an existing user, or creates an invited one and returns their one-time token. */
  async add(email: string, role: Role): Promise<AddedMember> {
    assertMayGrant(role);
    await this.#assertNotInvitedElsewhere(email);
    const now = this.clock.now();
    return this.db.tenant(async (tx) => {
      let invitationToken: string | undefined;
      let user = await findUserByEmail(tx, email);
      if (!user || user.status === 'invited') {
        invitationToken = 'inv_' + randomSecret();
        ({ user } = await insertOrFindUser(tx, { email, name: '', passwordHash: null, status: 'invited' }));
        if (user.status === 'invited') {
          // Never replace a token another tenant holds: of two concurrent invitations of one
          // new email, the second waits on this row, finds the token set, and gets a 409.
          const issued = await tx
            .updateTable('users')
            .set({ invite_token_hash: sha256(invitationToken), invite_expires_at: new Date(now.getTime() + INVITATION_TTL_MS) })
            .where('id', '=', user.id)
            .where('invite_token_hash', 'is', null)
            .executeTakeFirst();
          if (issued.numUpdatedRows === 0n) {
            throw new AppError('conflict', 'this email has a pending invitation; add them once they have accepted it');
          }
        } else {
          invitationToken = undefined; // a concurrent sign-up activated this email meanwhile
        }
      }
      // The seat counter is locked and the members counted before the membership is written.
      await this.usage?.seatAdded(tx, countLiveMembers);
      const added = await upsertMembership(tx, currentTenantId(), user.id, role, now);
      if (!added) throw new AppError('conflict', 'this user is already a member', { user_id: user.id });
      const member = (await findMember(tx, user.id))!;
      return invitationToken ? { ...member, invitationToken } : member;
    });
  }

  async changeRole(userId: string, role: Role): Promise<MemberRow> {
    assertMayGrant(role);
    const now = this.clock.now();
    return this.db.tenant(async (tx) => {
      const member = await existingMember(tx, userId);
      if (member.role === role) return member;
      await assertNotLastOwner(tx, member);
      await setRole(tx, userId, role, now);
      return { ...member, role };
    });
  }

  async remove(userId: string): Promise<void> {
    const now = this.clock.now();
    await this.db.tenant(async (tx) => {
      await this.usage?.lockSeats(tx);
      const member = await existingMember(tx, userId);
      await assertNotLastOwner(tx, member);
      await removeMembership(tx, userId, now);
      if (member.status === 'invited') {
        // An invited user belongs to this tenant alone: withdrawing the invitation frees the
        // email for others and kills the token this tenant was handed.
        await tx
          .updateTable('users')
          .set({ invite_token_hash: null, invite_expires_at: null })
          .where('id', '=', userId)
          .where('status', '=', 'invited')
          .execute();
      }
      await this.usage?.seatRemoved(tx, countLiveMembers);
    });
  }

  /**
   * An invited user has no password: whoever holds the invitation token sets it, and the
   * token goes to the inviter. Were an invited user in two tenants, the second tenant's admin
   * would get a fresh token, set the password and sign in to the first tenant as them. So an
   * invited user belongs to one tenant until they accept (identity scope sees all of theirs).
   */
  async #assertNotInvitedElsewhere(email: string): Promise<void> {
    const tenantId = currentTenantId();
    const user = await this.db.identity({}, (tx) => findUserByEmail(tx, email));
    if (user?.status !== 'invited') return;
    const memberships = await this.db.identity({ userId: user.id }, (tx) => listMembershipsOfUser(tx, user.id));
    if (memberships.some((membership) => membership.tenantId !== tenantId)) {
      throw new AppError('conflict', 'this email has a pending invitation from another tenant; add them once they have accepted it');
    }
  }
}
