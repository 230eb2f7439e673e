// Forgotten passwords. Asking answers the same whatever the address (the work happens after
// the answer, so not even its timing tells), and a link goes out only to an existing, active
// account. Following the link sets the password, uses up every reset link of the account,
// signs every session out, and proves the address (the link reached its mailbox).

import { hashPassword } from '../../auth/passwords.js';
import { unsafeRecordAccountAudit } from '../../audit/record-audit.js';
import type { Clock } from '../../clock.js';
import { platformTx, type Database } from '../../db/database.js';
import type { Tables } from '../../db/tables.js';
import { AppError } from '../../http/problems.js';
import type { AccountTables } from '../account-tables.js';
import type { AccountMail } from '../email-ownership/account-mail.js';
import { unsafeMarkEmailVerified, unsafeRedeemAccountToken, unsafeRetireTokens } from '../email-ownership/account-token-repository.js';
import { findCredentialsByEmail } from '../user-repository.js';

export class PasswordReset {
  readonly #db: Database<Tables & AccountTables>;

  constructor(
    db: Database,
    private readonly mail: AccountMail,
    private readonly clock: Clock,
  ) {
    this.#db = db.withTables<AccountTables>();
  }

  /** Sends a link if an active account has `email`; otherwise does nothing. The caller answers before this settles. */
  async request(email: string): Promise<void> {
    const account = await this.#db.identity({ email }, (tx) => findCredentialsByEmail(platformTx(tx)));
    if (!account || account.status !== 'active') return;
    await this.mail.sendPasswordReset(account.id, email);
  }

  async confirm(token: string, newPassword: string, requestId: string): Promise<void> {
    const passwordHash = await hashPassword(newPassword);
    const now = this.clock.now();
    await this.#db.service('accounts: redeem a password reset link', async (tx) => {
      const redeemed = await unsafeRedeemAccountToken(tx, 'reset-password', token, now);
      if (!redeemed) throw new AppError('invalid-credentials', 'the reset link is unknown, used or expired');
      const updated = await tx
        .updateTable('users')
        .set({ password_hash: passwordHash, updated_at: now })
        .where('id', '=', redeemed.userId)
        .where('status', '=', 'active')
        .where('deleted_at', 'is', null)
        .returning('email')
        .executeTakeFirst();
      if (!updated) throw new AppError('invalid-credentials', 'the reset link is unknown, used or expired');
      await unsafeRetireTokens(tx, redeemed.userId, 'reset-password', now);
      await tx.updateTable('sessions').set({ revoked_at: now }).where('user_id', '=', redeemed.userId).where('revoked_at', 'is', null).execute();
      if (updated.email.toLowerCase() === redeemed.email.toLowerCase()) await unsafeMarkEmailVerified(tx, redeemed.userId, redeemed.email);
      await unsafeRecordAccountAudit(platformTx(tx), redeemed.userId, requestId, { action: 'user.password_reset', target: `user:${redeemed.userId}`, before: null, after: null });
    });
  }
}
