// Creates a tenant with its owner, owner membership, first API key and a session, in one
// transaction: any failure (a taken slug, a bad password, a dropped connection) leaves nothing.
// Made by the operator's CLI, a new owner's address is not proven yet: the same transaction
// queues a verification email. Made by a followed sign-up link, it is proven already.

import { generateApiKey } from '../../auth/api-key-format.js';
import { sha256 } from '../../auth/opaque-tokens.js';
import { hashPassword, verifyPassword } from '../../auth/passwords.js';
import type { Sessions, TokenPair } from '../../auth/sessions.js';
import type { AccountTables } from '../../accounts/account-tables.js';
import type { AccountMail } from '../../accounts/email-ownership/account-mail.js';
import { platformTx, type Database, type Tx } from '../../db/database.js';
import { PLATFORM_BRAND } from '../../email/email-brand.js';
import { isUniqueViolation } from '../../db/constraint-violation.js';
import { newId } from '../../db/ids.js';
import type { Tenant, UserAccount } from '../../db/tables.js';
import { AppError } from '../../http/problems.js';
import { enterTenant } from '../enter-tenant.js';
import { insertMembership } from '../../accounts/membership-repository.js';
import { findCredentialsByEmail, findUserById, insertUser } from '../../accounts/user-repository.js';
import { insertTenant } from '../tenant-repository.js';
import { assertValidSlug } from './slug.js';

/** A sign-up names a plan of the catalog that is not retired (the operator retires plans: admin-plans.routes.ts). */
export async function assertChoosablePlan(tx: Tx, planKey: string): Promise<void> {
  const plan = await tx.selectFrom('plans').select('retired_at').where('key', '=', planKey).executeTakeFirst();
  if (!plan) throw new AppError('validation-failed', `no plan "${planKey}"; GET /v1/plans lists them`, { field: 'plan' });
  if (plan.retired_at) throw new AppError('plan-retired', `plan "${planKey}" is retired: choose one of GET /v1/plans`, { plan: planKey, field: 'plan' });
}

export interface ProvisionInput {
  readonly name: string;
  readonly slug: string;
  readonly subdomain?: string | undefined;
  readonly plan?: string | undefined;
  readonly owner: { readonly email: string; readonly password: string; readonly name: string };
}

/** Who owns a new tenant: an existing account, or a new one made with it. */
export type ProvisionOwner =
  | { readonly existingUserId: string }
  | { readonly email: string; readonly name: string; readonly passwordHash: string };

export interface ProvisionedTenant {
  readonly tenant: Tenant;
  readonly owner: UserAccount;
  readonly apiKey: { id: string; name: string; prefix: string; key: string };
  readonly session: TokenPair;
}

export class TenantProvisioning {
  constructor(
    private readonly db: Database,
    private readonly sessions: Sessions,
    /** Sends the new owner's verification link; without it (a library caller's choice) none is sent. */
    private readonly verification?: Pick<AccountMail, 'queueVerification'>,
  ) {}

  /**
   * Nobody acts in a tenant yet, so this takes no Actor: the operator's CLI calls it, and it
   * enters the new tenant itself. An existing account founds the tenant only with its password.
   * (Sign-up over HTTP goes through SignUpRequests, which proves the address first.)
   */
  async provision(input: ProvisionInput): Promise<ProvisionedTenant> {
    assertValidSlug(input.slug, 'slug');
    if (input.subdomain !== undefined) assertValidSlug(input.subdomain, 'subdomain');
    const passwordHash = await hashPassword(input.owner.password);

    // An existing person can found another tenant, but only by proving who they are. Their
    // credentials are a named lookup outside any tenant; the tenant's unit then names them.
    const existing = await this.db.identity({ email: input.owner.email }, findCredentialsByEmail);
    if (existing) {
      if (existing.status !== 'active') throw new AppError('conflict', 'the account with this email cannot sign in');
      if (!(await verifyPassword(existing.passwordHash, input.owner.password))) throw new AppError('invalid-credentials');
    }
    const owner: ProvisionOwner = existing
      ? { existingUserId: existing.id }
      : { email: input.owner.email, name: input.owner.name, passwordHash };
    return this.create(input, owner, { queueVerification: true });
  }

  /**
   * Creates the tenant for an owner whose right to it is already established: an existing
   * account that proved itself, or a new one whose address and password were proven by a
   * sign-up link. With `queueVerification`, a new owner's address gets a verification link.
   */
  async create(input: Omit<ProvisionInput, 'owner'>, ownerOf: ProvisionOwner, options: { queueVerification: boolean }): Promise<ProvisionedTenant> {
    assertValidSlug(input.slug, 'slug');
    if (input.subdomain !== undefined) assertValidSlug(input.subdomain, 'subdomain');
    const tenantId = newId();
    const key = generateApiKey();
    const existing = 'existingUserId' in ownerOf ? ownerOf : undefined;
    const fresh = 'existingUserId' in ownerOf ? undefined : ownerOf;
    const userId = existing?.existingUserId ?? newId();

    return enterTenant(tenantId, () =>
      this.db.withTables<AccountTables>().tenant(
        async (accountTx) => {
          const tx = platformTx(accountTx);
          await assertChoosablePlan(tx, input.plan ?? 'free');
          const tenant = await insertTenant(tx, {
            id: tenantId,
            name: input.name,
            slug: input.slug,
            subdomain: input.subdomain ?? null,
            plan: input.plan ?? 'free',
          }).catch((error: unknown) => {
            if (isUniqueViolation(error, 'tenants_slug_key')) throw new AppError('slug-taken', `slug "${input.slug}" is taken`);
            if (isUniqueViolation(error, 'tenants_subdomain_key')) {
              throw new AppError('subdomain-taken', `subdomain "${input.subdomain}" is taken`);
            }
            throw error;
          });

          const owner = fresh ? await insertUser(tx, { id: userId, email: fresh.email, name: fresh.name, passwordHash: fresh.passwordHash }) : await findUserById(tx, userId);
          // The email was taken (or its account deleted) since the lookup: sign up again to prove who you are.
          if (!owner) throw new AppError('conflict', 'the account with this email changed during sign-up; try again');

          await insertMembership(tx, { tenantId, userId, role: 'owner' });
          const apiKeyId = newId();
          await tx
            .insertInto('api_keys')
            .values({
              tenant_id: tenantId,
              id: apiKeyId,
              prefix: key.prefix,
              secret_hash: sha256(key.secret),
              name: 'Default key',
              role: 'admin',
              created_by: userId,
            })
            .execute();
          if (fresh && options.queueVerification && this.verification) {
            // A new tenant has no branding of its own yet: its name on the platform's colours.
            const brand = { ...PLATFORM_BRAND, name: input.name };
            await this.verification.queueVerification(accountTx, tenantId, brand, userId, fresh.email);
          }
          const session = await this.sessions.start(tx, userId, tenantId);
          return { tenant, owner, apiKey: { id: apiKeyId, name: 'Default key', prefix: key.prefix, key: key.token }, session };
        },
        { userId },
      ),
    );
  }
}
