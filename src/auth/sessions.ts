// Sign-in sessions: a refresh token (random, stored hashed, rotating) plus a short-lived JWT.
// Rotation is single-use: a replayed refresh token revokes its whole family.

import type { AccessTokens } from './access-tokens.js';
import { randomSecret, sha256 } from './opaque-tokens.js';
import { findSessionForUpdate, findSessionOwner, insertSession, markRotated, revokeFamily } from './session-repository.js';
import type { Clock } from '../clock.js';
import type { Database, Tx } from '../db/database.js';
import { newId } from '../db/ids.js';
import { AppError } from '../http/problems.js';

export interface TokenPair {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresIn: number;
  readonly tokenType: 'Bearer';
}

const REFRESH_PREFIX = 'rt_';

export class Sessions {
  constructor(
    private readonly db: Database,
    private readonly tokens: AccessTokens,
    private readonly clock: Clock,
    private readonly refreshTtlSeconds: number,
  ) {}

  /**
   * Starts a session family inside the caller's transaction (sign-up and login share it),
   * which must name the user (`userId`): RLS lets a unit write only that user's sessions.
   */
  async start(tx: Tx, userId: string, tenantId: string | null, familyId: string = newId()): Promise<TokenPair> {
    const refreshToken = REFRESH_PREFIX + randomSecret();
    const expiresAt = new Date(this.clock.now().getTime() + this.refreshTtlSeconds * 1000);
    await insertSession(tx, { familyId, tokenHash: sha256(refreshToken), userId, activeTenantId: tenantId, expiresAt });
    const access = await this.tokens.issue({ userId, tenantId: tenantId ?? undefined, sessionFamilyId: familyId });
    return { accessToken: access.token, refreshToken, expiresIn: access.expiresIn, tokenType: 'Bearer' };
  }

  /**
   * Exchanges a refresh token for a new pair. Any problem is the same 401. Two units: the
   * token names its session, which names the user and family the second one acts for.
   */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const now = this.clock.now();
    const tokenHash = sha256(refreshToken);
    const owner = await this.db.identity({ refreshTokenHash: tokenHash }, (tx) => findSessionOwner(tx, tokenHash));
    if (!owner) throw new AppError('invalid-credentials');
    const scope = { refreshTokenHash: tokenHash, userId: owner.user_id, sessionFamilyId: owner.family_id };
    const outcome = await this.db.identity(scope, async (tx) => {
      const session = await findSessionForUpdate(tx, tokenHash);
      if (!session || session.revoked_at || session.expires_at <= now) return { ok: false as const };
      if (session.rotated_at) {
        // Someone is replaying a token that was already exchanged: assume it leaked.
        await revokeFamily(tx, session.family_id, now);
        return { ok: false as const };
      }
      await markRotated(tx, session.id, now);
      const pair = await this.start(tx, session.user_id, session.active_tenant_id, session.family_id);
      return { ok: true as const, pair };
    });
    if (!outcome.ok) throw new AppError('invalid-credentials');
    return outcome.pair;
  }

  /** Moves the session to another tenant: the old refresh token is retired, a new pair issued. */
  async switchTenant(userId: string, familyId: string, tenantId: string): Promise<TokenPair> {
    const now = this.clock.now();
    return this.db.identity({ userId, sessionFamilyId: familyId }, async (tx) => {
      await tx
        .updateTable('sessions')
        .set({ rotated_at: now })
        .where('family_id', '=', familyId)
        .where('user_id', '=', userId)
        .where('rotated_at', 'is', null)
        .execute();
      return this.start(tx, userId, tenantId, familyId);
    });
  }

  async revoke(userId: string, familyId: string): Promise<void> {
    const now = this.clock.now();
    await this.db.identity({ userId, sessionFamilyId: familyId }, (tx) => revokeFamily(tx, familyId, now));
  }

  /** Revokes the family of a refresh token, if the token is known; unknown tokens are ignored. */
  async revokeByRefreshToken(refreshToken: string): Promise<void> {
    const tokenHash = sha256(refreshToken);
    const owner = await this.db.identity({ refreshTokenHash: tokenHash }, (tx) => findSessionOwner(tx, tokenHash));
    if (owner) await this.revoke(owner.user_id, owner.family_id);
  }
}
