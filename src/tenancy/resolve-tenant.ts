// Decides which tenant a request acts in and with which role: the credential's tenant
// (JWT claim or API key) > X-Tenant-ID (id or slug) > subdomain. A name that disagrees
// with the credential is refused, never followed.

import { sql } from 'kysely';
import { touchApiKey } from '../auth/api-keys/api-key-repository.js';
import type { ApiKeyPrincipal, Principal, UserPrincipal } from '../auth/authenticate.js';
import type { Clock } from '../clock.js';
import type { Database } from '../db/database.js';
import type { Role } from '../db/tables.js';
import { AppError } from '../http/problems.js';
import { runWithContext } from './context.js';
import { findLiveTenant, findLiveTenantBySubdomain } from './tenant-repository.js';

export interface TenantAccess {
  readonly tenantId: string;
  readonly role: Role;
  readonly plan: string;
}

export interface TenantHints {
  /** X-Tenant-ID header: a tenant id or slug. */
  readonly header: string | undefined;
  /** Host name of the request, for subdomain resolution. */
  readonly hostname: string;
}

export class TenantResolver {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #baseDomain: string | undefined;

  constructor(db: Database, clock: Clock, baseDomain: string | undefined) {
    this.#db = db;
    this.#clock = clock;
    this.#baseDomain = baseDomain?.toLowerCase();
  }

  async resolve(principal: Principal, hints: TenantHints, requestId: string): Promise<TenantAccess> {
    const credentialTenant = principal.kind === 'api_key' ? principal.tenantId : principal.claimedTenantId;
    const named = await this.#namedTenant(hints);
    if (named && credentialTenant && named !== credentialTenant) {
      throw new AppError('tenant-mismatch', 'the tenant named by X-Tenant-ID or the host is not the credential\'s tenant');
    }
    const tenantId = credentialTenant ?? named;
    if (!tenantId) {
      throw new AppError('tenant-required', 'name a tenant with a token for it, the X-Tenant-ID header or its subdomain');
    }
    return runWithContext({ requestId, tenantId }, () =>
      principal.kind === 'api_key' ? this.#keyAccess(principal) : this.#memberAccess(principal, tenantId),
    );
  }

  /** For routes that need a user but no tenant: the session behind the token must still be live. */
  async assertSessionLive(principal: UserPrincipal): Promise<void> {
    const now = this.#clock.now();
    const live = await this.#db.identity({ userId: principal.userId }, (tx) =>
      tx
        .selectFrom('sessions')
        .select('id')
        .where('family_id', '=', principal.sessionFamilyId)
        .where('user_id', '=', principal.userId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst(),
    );
    if (!live) throw new AppError('invalid-credentials');
  }

  #subdomain(hostname: string): string | undefined {
    if (!this.#baseDomain) return undefined;
    const host = hostname.toLowerCase();
    if (!host.endsWith('.' + this.#baseDomain)) return undefined;
    const label = host.slice(0, -(this.#baseDomain.length + 1));
    return label && !label.includes('.') ? label : undefined;
  }

  async #namedTenant(hints: TenantHints): Promise<string | undefined> {
    const header = hints.header?.trim();
    const subdomain = header ? undefined : this.#subdomain(hints.hostname);
    if (!header && !subdomain) return undefined;
    const tenant = await this.#db.identity({}, (tx) =>
      header ? findLiveTenant(tx, header) : findLiveTenantBySubdomain(tx, subdomain!),
    );
    if (!tenant) throw new AppError('tenant-not-found', `no tenant "${header ?? subdomain}"`);
    return tenant.id;
  }

  async #keyAccess(principal: ApiKeyPrincipal): Promise<TenantAccess> {
    const now = this.#clock.now();
    const tenant = await this.#db.tenant(async (tx) => {
      const row = await tx
        .selectFrom('tenants')
        .select(['plan'])
        .where('id', '=', principal.tenantId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      const stale = !principal.lastUsedAt || now.getTime() - principal.lastUsedAt.getTime() > 60_000;
      if (row && stale) await touchApiKey(tx, principal.keyId, now);
      return row;
    });
    // The key's tenant was deleted after authentication: the key is dead.
    if (!tenant) throw new AppError('invalid-credentials');
    return { tenantId: principal.tenantId, role: principal.role, plan: tenant.plan };
  }

  async #memberAccess(principal: UserPrincipal, tenantId: string): Promise<TenantAccess> {
    const now = this.#clock.now();
    // One statement, one round trip, answers all three: tenant live, member, session live.
    const [row] = await this.#db.tenantStatement((tx) =>
      tx
        .selectFrom('tenants as t')
        .leftJoin('memberships as m', (join) =>
          join.onRef('m.tenant_id', '=', 't.id').on('m.user_id', '=', principal.userId).on('m.deleted_at', 'is', null),
        )
        .select(['t.plan', 'm.role'])
        .select(
          sql<boolean>`exists (select 1 from sessions s where s.family_id = ${principal.sessionFamilyId}
            and s.user_id = ${principal.userId} and s.revoked_at is null and s.expires_at > ${now})`.as('session_live'),
        )
        .where('t.id', '=', tenantId)
        .where('t.deleted_at', 'is', null),
    );
    if (!row) throw new AppError('tenant-not-found');
    if (!row.session_live) throw new AppError('invalid-credentials');
    if (!row.role) throw new AppError('not-a-member');
    return { tenantId, role: row.role, plan: row.plan };
  }
}
