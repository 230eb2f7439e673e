// Proving an email address: at sign-up, on request (a resend), and to change the account's
// address. A change takes effect only when the new address's owner follows the link, so the
// request answers the same whether or not another account has that address; a taken address
// is refused to the link's holder, who proved owning it.

import { verifyPassword } from '../../auth/passwords.js';
import type { UserPrincipal } from '../../auth/authenticate.js';
import { unsafeRecordAccountAudit } from '../../audit/record-audit.js';
import type { Clock } from '../../clock.js';
import { isUniqueViolation } from '../../db/constraint-violation.js';
import { platformTx, type Database } from '../../db/database.js';
import type { Tables } from '../../db/tables.js';
import { AppError } from '../../http/problems.js';
import type { AccountTables } from '../account-tables.js';
import { findCredentialsByEmail, findUserById } from '../user-repository.js';
import type { AccountMail } from './account-mail.js';
import { isEmailVerified, unsafeMarkEmailVerified, unsafeRedeemAccountToken } from './account-token-repository.js';

export interface VerifiedAddress {
  readonly email: string;
  /** True when the account's address changed to it. */
  readonly changed: boolean;
}

const unknownToken = () => new AppError('invalid-credentials', 'the verification link is unknown, used or expired');

export class EmailVerification {
  readonly #db: Database<Tables & AccountTables>;

  constructor(
    db: Database,
    private readonly mail: AccountMail,
    private readonly clock: Clock,
  ) {
    this.#db = db.withTables<AccountTables>();
  }

  /** The signed-in user's address and whether it is proven. */
  async status(userId: string): Promise<{ email: string; verified: boolean }> {
    return this.#db.identity({ userId }, async (tx) => {
      const user = await findUserById(platformTx(tx), userId);
      if (!user) throw new AppError('invalid-credentials');
      return { email: user.email, verified: await isEmailVerified(tx, userId, user.email) };
    });
  }

  /** Sends a new link for the account's current address, unless it is proven already. */
  async resend(principal: UserPrincipal): Promise<void> {
    const { email, verified } = await this.status(principal.userId);
    if (verified) return;
    await this.mail.sendVerification(principal.userId, email, principal.claimedTenantId);
  }

  /** Needs the current password; the address changes when the link sent to `newEmail` is followed. */
  async requestChange(principal: UserPrincipal, newEmail: string, currentPassword: string): Promise<void> {
    const { email } = await this.status(principal.userId);
    const credentials = await this.#db.identity({ email }, (tx) => findCredentialsByEmail(platformTx(tx)));
    const valid = await verifyPassword(credentials?.id === principal.userId ? credentials.passwordHash : null, currentPassword);
    if (!valid) throw new AppError('invalid-credentials', 'the current password is not correct');
    if (newEmail.toLowerCase() === email.toLowerCase()) throw new AppError('conflict', 'that is already the address of this account');
    await this.mail.sendVerification(principal.userId, newEmail, principal.claimedTenantId);
  }

  /** Redeems a link: proves the address, and makes it the account's if it was a change. */
  async confirm(token: string, requestId: string | null): Promise<VerifiedAddress> {
    const now = this.clock.now();
    return this.#db.service('accounts: redeem an email verification link', async (tx) => {
      const redeemed = await unsafeRedeemAccountToken(tx, 'verify-email', token, now);
      if (!redeemed) throw unknownToken();
      const user = await tx.selectFrom('users').select(['id', 'email', 'status']).where('id', '=', redeemed.userId).where('deleted_at', 'is', null).forUpdate().executeTakeFirst();
      if (!user || user.status !== 'active') throw unknownToken();
      const changed = user.email.toLowerCase() !== redeemed.email.toLowerCase();
      if (changed) {
        await tx
          .updateTable('users')
          .set({ email: redeemed.email, updated_at: now })
          .where('id', '=', user.id)
          .execute()
          .catch((error: unknown) => {
            if (isUniqueViolation(error, 'users_email_key')) throw new AppError('conflict', 'another account has this email address');
            throw error;
          });
        await unsafeRecordAccountAudit(platformTx(tx), user.id, requestId, { action: 'user.email_changed', target: `user:${user.id}`, before: null, after: null });
      }
      await unsafeMarkEmailVerified(tx, user.id, redeemed.email);
      return { email: redeemed.email, changed };
    });
  }
}
