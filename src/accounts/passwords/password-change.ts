// A signed-in person changes their password: the current one is required, and every other
// session of theirs is revoked in the same transaction (the one asking stays signed in).

import type { UserPrincipal } from '../../auth/authenticate.js';
import { hashPassword, verifyPassword } from '../../auth/passwords.js';
import { unsafeRecordAccountAudit } from '../../audit/record-audit.js';
import type { Clock } from '../../clock.js';
import type { Database } from '../../db/database.js';
import { AppError } from '../../http/problems.js';
import { findCredentialsByEmail, findUserById } from '../user-repository.js';

export class PasswordChange {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  async change(principal: UserPrincipal, currentPassword: string, newPassword: string, requestId: string): Promise<void> {
    const { userId } = principal;
    const user = await this.db.identity({ userId }, (tx) => findUserById(tx, userId));
    if (!user) throw new AppError('invalid-credentials');
    const credentials = await this.db.identity({ email: user.email }, findCredentialsByEmail);
    const valid = await verifyPassword(credentials?.id === userId && credentials.status === 'active' ? credentials.passwordHash : null, currentPassword);
    if (!valid) throw new AppError('invalid-credentials', 'the current password is not correct');
    const passwordHash = await hashPassword(newPassword);
    const now = this.clock.now();
    // The service role: the other sessions are other families, which no identity scope shows.
    await this.db.service('accounts: change a password and revoke the other sessions', async (tx) => {
      await tx.updateTable('users').set({ password_hash: passwordHash, updated_at: now }).where('id', '=', userId).execute();
      await tx
        .updateTable('sessions')
        .set({ revoked_at: now })
        .where('user_id', '=', userId)
        .where('family_id', '!=', principal.sessionFamilyId)
        .where('revoked_at', 'is', null)
        .execute();
      await unsafeRecordAccountAudit(tx, userId, requestId, { action: 'user.password_changed', target: `user:${userId}`, before: null, after: null });
    });
  }
}
