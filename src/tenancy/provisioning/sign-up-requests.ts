// Sign-up that does not tell who has an account. Asking (POST /v1/tenants) does the same work
// and gives the same answer for every address: the password is hashed, a request stored, and a
// link mailed, worded for a new address or for one that has an account (which is not changed).
// Following the link with the password creates the tenant: the link proves the address, the
// password proves the person (the one chosen at sign-up, or the existing account's), so nobody
// can found a tenant, or an account, on an address they do not own.

import type { Clock } from '../../clock.js';
import { hashPassword, verifyPassword } from '../../auth/passwords.js';
import { platformTx, type Database } from '../../db/database.js';
import type { Tables } from '../../db/tables.js';
import { PLATFORM_BRAND } from '../../email/email-brand.js';
import type { TransactionalEmail } from '../../email/transactional-email.js';
import { AppError } from '../../http/problems.js';
import type { AccountTables } from '../../accounts/account-tables.js';
import { signUpEmail, signUpExistingAccountEmail } from '../../accounts/email-ownership/account-emails.js';
import { unsafeMarkEmailVerified } from '../../accounts/email-ownership/account-token-repository.js';
import { findCredentialsByEmail } from '../../accounts/user-repository.js';
import { assertChoosablePlan, type ProvisionedTenant, type TenantProvisioning } from './provision-tenant.js';
import { assertValidSlug } from './slug.js';
import { unsafeFindLiveSignupRequest, unsafeInsertSignupRequest, unsafeUseSignupRequest } from './signup-request-repository.js';

/** How long a sign-up link works. */
export const SIGNUP_TTL_HOURS = 24;

export interface SignUpInput {
  readonly name: string;
  readonly slug: string;
  readonly subdomain?: string | undefined;
  readonly plan?: string | undefined;
  readonly owner: { readonly email: string; readonly password: string; readonly name: string };
}

export interface SignUpRequestsDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly provisioning: TenantProvisioning;
  readonly email: Pick<TransactionalEmail, 'sendNow'>;
  readonly appUrl: string;
}

const unknownLink = () => new AppError('invalid-credentials', 'the sign-up link is unknown, used or expired, or the password is not the right one');

export class SignUpRequests {
  readonly #db: Database<Tables & AccountTables>;

  constructor(private readonly deps: SignUpRequestsDeps) {
    this.#db = deps.db.withTables<AccountTables>();
  }

  /**
   * Stores the request and mails its link; answers nothing that depends on the address. A
   * taken slug or subdomain is refused here (it is public, and says nothing about anyone).
   */
  async request(input: SignUpInput): Promise<void> {
    assertValidSlug(input.slug, 'slug');
    if (input.subdomain !== undefined) assertValidSlug(input.subdomain, 'subdomain');
    await this.#db.service('sign-up: is the slug free and the plan choosable', async (tx) => {
      // Public facts, the same answer for every address: asked before anything else is done.
      await assertChoosablePlan(platformTx(tx), input.plan ?? 'free');
      const taken = await tx
        .selectFrom('tenants')
        .select(['slug', 'subdomain'])
        .where((eb) => eb.or([eb('slug', '=', input.slug), ...(input.subdomain ? [eb('subdomain', '=', input.subdomain)] : [])]))
        .execute();
      if (taken.some((row) => row.slug === input.slug)) throw new AppError('slug-taken', `slug "${input.slug}" is taken`);
      if (taken.length > 0) throw new AppError('subdomain-taken', `subdomain "${input.subdomain}" is taken`);
    });
    // Both kinds of address cost the same: one argon2 hash, one lookup, one row, one message.
    const passwordHash = await hashPassword(input.owner.password);
    const existing = await this.#db.identity({ email: input.owner.email }, (tx) => findCredentialsByEmail(platformTx(tx)));
    const expiresAt = new Date(this.deps.clock.now().getTime() + SIGNUP_TTL_HOURS * 3_600_000);
    const token = await this.#db.service('sign-up: store the request', (tx) =>
      unsafeInsertSignupRequest(tx, {
        email: input.owner.email,
        ownerName: input.owner.name,
        passwordHash,
        tenantName: input.name,
        slug: input.slug,
        subdomain: input.subdomain,
        plan: input.plan ?? 'free',
        expiresAt,
      }),
    );
    // The tenant has no branding yet: its name on the platform's colours.
    const brand = { ...PLATFORM_BRAND, name: input.name };
    const compose = existing ? signUpExistingAccountEmail : signUpEmail;
    await this.deps.email.sendNow(compose(brand, this.deps.appUrl, input.owner.email, token, SIGNUP_TTL_HOURS));
  }

  /**
   * Follows a link: with the right password (the existing account's, else the one chosen at
   * sign-up) creates the tenant, its owner (a new account, or the existing one unchanged), a
   * key and a session, and proves the address. A wrong password leaves the link usable.
   */
  async confirm(token: string, password: string): Promise<ProvisionedTenant> {
    const now = this.deps.clock.now();
    const request = await this.#db.service('sign-up: read the request a link names', (tx) => unsafeFindLiveSignupRequest(tx, token, now));
    // An unknown link costs a hash check too: the answer's timing does not tell links apart.
    if (!request) {
      await verifyPassword(null, password);
      throw unknownLink();
    }
    const existing = await this.#db.identity({ email: request.email }, (tx) => findCredentialsByEmail(platformTx(tx)));
    if (!(await verifyPassword(existing ? existing.passwordHash : request.password_hash, password))) throw unknownLink();
    if (existing && existing.status !== 'active') throw new AppError('conflict', 'the account with this email cannot sign in');
    // A second follower of one link finds the slug taken (it is unique): one tenant per request.
    const created = await this.deps.provisioning.create(
      { name: request.tenant_name, slug: request.slug, subdomain: request.subdomain ?? undefined, plan: request.plan },
      existing ? { existingUserId: existing.id } : { email: request.email, name: request.owner_name, passwordHash: request.password_hash },
      { queueVerification: false },
    );
    await this.#db.service('sign-up: use up the request and prove the address', async (tx) => {
      await unsafeUseSignupRequest(tx, request.id, now);
      if (created.owner.email.toLowerCase() === request.email.toLowerCase()) await unsafeMarkEmailVerified(tx, created.owner.id, request.email);
    });
    return created;
  }
}
