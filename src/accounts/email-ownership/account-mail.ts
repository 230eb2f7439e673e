// Sends the account emails (verification, password reset) branded by a tenant the person
// belongs to. With a tenant, the token and the queued email are one transaction in that
// tenant's unit of work (the outbox): both or neither, and the email goes out even if the
// process dies after commit. A person in no tenant gets the platform's branding, sent at once.

import type { Clock } from '../../clock.js';
import { platformTx, type Database, type Tx } from '../../db/database.js';
import type { Tables } from '../../db/tables.js';
import { brandFromSettings, PLATFORM_BRAND, type EmailBrand } from '../../email/email-brand.js';
import type { OutgoingEmail } from '../../email/outgoing-email.js';
import type { TransactionalEmail } from '../../email/transactional-email.js';
import type { TenantSettings } from '../../settings/tenant-settings.js';
import { enterTenant } from '../../tenancy/enter-tenant.js';
import type { AccountTables } from '../account-tables.js';
import { listMembershipsOfUser } from '../membership-repository.js';
import { invitationEmail, passwordResetEmail, verificationEmail } from './account-emails.js';
import { mintAccountToken } from './account-token-repository.js';

export const VERIFICATION_TTL_HOURS = 48;
export const RESET_TTL_MINUTES = 60;

type AccountTx = Tx<Tables & AccountTables>;

export interface AccountMailDeps {
  readonly db: Database;
  readonly email: TransactionalEmail;
  readonly settings: Pick<TenantSettings, 'resolve'>;
  readonly clock: Clock;
  readonly appUrl: string;
}

export class AccountMail {
  readonly #db: Database<Tables & AccountTables>;

  constructor(private readonly deps: AccountMailDeps) {
    this.#db = deps.db.withTables<AccountTables>();
  }

  /** The tenant's branding, or the platform's when there is no tenant (or it is gone). */
  async brandOf(tenantId: string | undefined): Promise<EmailBrand> {
    if (!tenantId) return PLATFORM_BRAND;
    const resolved = await this.deps.settings.resolve(tenantId);
    return resolved ? brandFromSettings(resolved) : PLATFORM_BRAND;
  }

  /**
   * Inside a tenant unit of work that names `userId` (sign-up): mints a verification token for
   * `address` and queues its email in the same transaction.
   */
  async queueVerification(tx: AccountTx, tenantId: string, brand: EmailBrand, userId: string, address: string): Promise<void> {
    const token = await mintAccountToken(tx, { userId, purpose: 'verify-email', email: address, expiresAt: this.#after(VERIFICATION_TTL_HOURS * 60) });
    await this.deps.email.queue(tx, tenantId, verificationEmail(brand, this.deps.appUrl, address, token, VERIFICATION_TTL_HOURS));
  }

  /** Inside the inviting tenant unit: the invitation's acceptance link to the invited address. */
  async queueInvitation(tx: Tx, tenantId: string, brand: EmailBrand, invitation: { email: string; role: string; token: string }): Promise<void> {
    await this.deps.email.queue(tx, tenantId, invitationEmail(brand, this.deps.appUrl, invitation.email, invitation.role, invitation.token));
  }

  /** A verification of `address` for `userId` (a resend, or a new address). */
  sendVerification(userId: string, address: string, tenantId: string | undefined): Promise<void> {
    return this.#send(userId, tenantId, async (tx, brand) => {
      const token = await mintAccountToken(tx, { userId, purpose: 'verify-email', email: address, expiresAt: this.#after(VERIFICATION_TTL_HOURS * 60) });
      return verificationEmail(brand, this.deps.appUrl, address, token, VERIFICATION_TTL_HOURS);
    });
  }

  /** A password reset link to the account's address. */
  sendPasswordReset(userId: string, address: string): Promise<void> {
    return this.#send(userId, undefined, async (tx, brand) => {
      const token = await mintAccountToken(tx, { userId, purpose: 'reset-password', email: address, expiresAt: this.#after(RESET_TTL_MINUTES) });
      return passwordResetEmail(brand, this.deps.appUrl, address, token, RESET_TTL_MINUTES);
    });
  }

  /** In `preferred` if given, else the person's oldest live tenant, else none (sent at once). */
  async #send(userId: string, preferred: string | undefined, compose: (tx: AccountTx, brand: EmailBrand) => Promise<OutgoingEmail>): Promise<void> {
    const tenantId = preferred ?? (await this.#db.identity({ userId }, (tx) => listMembershipsOfUser(platformTx(tx), userId)))[0]?.tenantId;
    const brand = await this.brandOf(tenantId);
    if (tenantId) {
      await enterTenant({ tenantId, userId }, () =>
        this.#db.tenant(async (tx) => this.deps.email.queue(tx, tenantId, await compose(tx, brand)), { userId }),
      );
      return;
    }
    const email = await this.#db.identity({ userId }, (tx) => compose(tx, brand));
    await this.deps.email.sendNow(email);
  }

  #after(minutes: number): Date {
    return new Date(this.deps.clock.now().getTime() + minutes * 60_000);
  }
}
