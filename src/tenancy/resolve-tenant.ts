// Decides which tenant a request acts in and with which role: the credential's tenant
// (JWT claim or API key) > X-Tenant-ID (id or slug) > subdomain. A name that disagrees
// with the credential is refused, never followed.

import type { Logger } from 'pino';
import type { ApiKeyPrincipal, Principal, UserPrincipal } from '../auth/authenticate.js';
import type { AccessCache } from '../cache/access-cache.js';
import type { Clock } from '../clock.js';
import type { Database, ScopeCheck } from '../db/database.js';
import type { Role, TenantStatus } from '../db/tables.js';
import { AppError } from '../http/problems.js';
import { keyCheck, memberCheck, type AccessCheck, type CheckedEpoch } from './access-check.js';
import { enterTenant } from './enter-tenant.js';
import { roleAtLeast } from './roles.js';
import { findLiveTenant, findLiveTenantBySubdomain } from './tenant-repository.js';

export interface TenantAccess {
  readonly tenantId: string;
  readonly role: Role;
  readonly plan: string;
  /** A suspended tenant is served read-only (its units open READ ONLY), not refused. */
  readonly status: TenantStatus;
  /** An agent key's agent: the request acts only as it (the key check confirms it on every cached use). */
  readonly agentId?: string | undefined;
}

/** A cache entry: the access, the epochs it was last checked at, and when it expires by time. */
interface CachedAccess extends CheckedEpoch {
  readonly access: TenantAccess;
  /** The session's or key's expiry (ms since the epoch); undefined when it has none. */
  readonly expiresAt: number | undefined;
}

/** The access a request acts on, and the check its first unit must run when it came from the cache. */
export interface ResolvedAccess {
  readonly access: TenantAccess;
  /** Absent when the access was read from the database for this request. */
  readonly check: AccessCheck | undefined;
}

export interface TenantHints {
  /** X-Tenant-ID header: a tenant id or slug. */
  readonly header: string | undefined;
  /** Host name of the request, for subdomain resolution. */
  readonly hostname: string;
}

export interface TenantResolverOptions {
  readonly db: Database;
  readonly clock: Clock;
  readonly baseDomain: string | undefined;
  /** Access read for earlier requests; every use of an entry is re-checked in the request's transaction. */
  readonly cache: AccessCache;
  readonly logger: Logger;
}

export class TenantResolver {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #baseDomain: string | undefined;
  readonly #cache: AccessCache;
  readonly #logger: Logger;

  constructor(options: TenantResolverOptions) {
    this.#db = options.db;
    this.#clock = options.clock;
    this.#baseDomain = options.baseDomain?.toLowerCase();
    this.#cache = options.cache;
    this.#logger = options.logger;
  }

  /**
   * The tenant the request acts in and its role there. From the cache when this instance has
   * served the same credential in the same tenant lately: then no round trip, and the answer
   * carries the check its first unit of work must run (see access-check.ts).
   */
  async resolve(principal: Principal, hints: TenantHints, requestId: string): Promise<ResolvedAccess> {
    const credentialTenant = principal.kind === 'api_key' ? principal.tenantId : principal.claimedTenantId;
    const named = await this.#namedTenant(hints);
    if (named && credentialTenant && named !== credentialTenant) {
      throw new AppError('tenant-mismatch', 'the tenant named by X-Tenant-ID or the host is not the credential\'s tenant');
    }
    const tenantId = credentialTenant ?? named;
    if (!tenantId) {
      throw new AppError('tenant-required', 'name a tenant with a token for it, the X-Tenant-ID header or its subdomain');
    }
    const now = this.#clock.now();
    if (principal.kind === 'api_key') {
      const key = `key:${principal.keyId}`;
      const cached = this.#cache.get<CachedAccess>(key);
      if (cached) {
        const evict = () => this.#cache.evict((entry) => entry.keyId === principal.keyId);
        return { access: cached.access, check: keyCheck(cached.access, principal, cached, now, evict) };
      }
    } else {
      const key = memberKey(principal, tenantId);
      const cached = this.#cache.get<CachedAccess>(key);
      if (cached) {
        const evict = () => this.#cache.evict((entry) => entry.userId === principal.userId && entry.tenantId === tenantId);
        return { access: cached.access, check: memberCheck(cached.access, principal, cached, now, evict) };
      }
    }
    const lifetime = (entry: CachedAccess) => (entry.expiresAt === undefined ? undefined : entry.expiresAt - this.#clock.now().getTime());
    // The edge has not set the request's context yet: these reads enter the tenant being resolved.
    const entry = await enterTenant({ tenantId, requestId }, () =>
      principal.kind === 'api_key'
        ? this.#cache.load(`key:${principal.keyId}`, () => ({ tenantId, keyId: principal.keyId }), () => this.#keyAccess(principal), lifetime)
        : this.#cache.load(memberKey(principal, tenantId), () => ({ tenantId, userId: principal.userId }), () =>
            this.#memberAccess(principal, tenantId),
          lifetime),
    );
    return { access: entry.access, check: undefined };
  }

  /** Runs a request's check now, for a request that opened no tenant unit to carry it. */
  confirm(check: ScopeCheck): Promise<void> {
    return this.#db.runCheck(check);
  }

  /** For routes that need a user but no tenant: the session behind the token must still be live. */
  async assertSessionLive(principal: UserPrincipal): Promise<void> {
    const now = this.#clock.now();
    const live = await this.#db.identity({ userId: principal.userId, sessionFamilyId: principal.sessionFamilyId }, (tx) =>
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

  async #keyAccess(principal: ApiKeyPrincipal): Promise<CachedAccess> {
    const now = this.#clock.now();
    // One round trip: the key's tenant, the key still live (the principal may come from the
    // authenticator's cache), and the live role of the user who created the key.
    const [row] = await this.#db.tenantStatement((tx) =>
      tx
        .selectFrom('tenants as t')
        .leftJoin('api_keys as k', (join) =>
          join
            .onRef('k.tenant_id', '=', 't.id')
            .on('k.id', '=', principal.keyId)
            .on('k.revoked_at', 'is', null)
            .on('k.deleted_at', 'is', null)
            .on((eb) => eb.or([eb('k.expires_at', 'is', null), eb('k.expires_at', '>', now)])),
        )
        .leftJoin('memberships as m', (join) =>
          join
            .onRef('m.tenant_id', '=', 't.id')
            .on('m.user_id', '=', principal.createdBy ?? NO_USER)
            .on('m.deleted_at', 'is', null),
        )
        .select(['t.plan', 't.status', 'k.id as liveKeyId', 'k.expires_at as keyExpiresAt', 'm.role as creatorRole'])
        .where('t.id', '=', principal.tenantId)
        .where('t.deleted_at', 'is', null),
      { prepared: true },
    );
    // The key's tenant was deleted, or the key revoked, after authentication: the key is dead.
    if (!row || !row.liveKeyId) throw new AppError('invalid-credentials');
    // A key acts for its creator: it dies with their membership and never outranks them.
    if (principal.createdBy && !row.creatorRole) throw new AppError('invalid-credentials');
    const role = row.creatorRole && !roleAtLeast(row.creatorRole, principal.role) ? row.creatorRole : principal.role;
    const access = { tenantId: principal.tenantId, role, plan: row.plan, status: row.status, ...(principal.agentId ? { agentId: principal.agentId } : {}) };
    return { access, epoch: undefined, expiresAt: row.keyExpiresAt?.getTime() };
  }

  async #memberAccess(principal: UserPrincipal, tenantId: string): Promise<CachedAccess> {
    const now = this.#clock.now();
    // One statement, one round trip, answers all four: tenant live and usable, member, session
    // live. The session is readable in the tenant's scope only because the unit names it.
    const [row] = await this.#db.tenantStatement((tx) =>
      tx
        .selectFrom('tenants as t')
        .leftJoin('memberships as m', (join) =>
          join.onRef('m.tenant_id', '=', 't.id').on('m.user_id', '=', principal.userId).on('m.deleted_at', 'is', null),
        )
        .select(['t.plan', 't.status', 'm.role'])
        .select((eb) =>
          eb
            .selectFrom('sessions as s')
            .select((s) => s.fn.max('s.expires_at').as('expires_at'))
            .where('s.family_id', '=', principal.sessionFamilyId)
            .where('s.user_id', '=', principal.userId)
            .where('s.revoked_at', 'is', null)
            .where('s.expires_at', '>', now)
            .as('session_expires_at'),
        )
        .where('t.id', '=', tenantId)
        .where('t.deleted_at', 'is', null),
      { userId: principal.userId, sessionFamilyId: principal.sessionFamilyId, prepared: true },
    );
    if (!row) throw new AppError('tenant-not-found');
    // The session is live until its last live token expires.
    if (!row.session_expires_at) throw new AppError('invalid-credentials');
    if (!row.role) throw new AppError('not-a-member');
    return { access: { tenantId, role: row.role, plan: row.plan, status: row.status }, epoch: undefined, expiresAt: row.session_expires_at.getTime() };
  }
}

function memberKey(principal: UserPrincipal, tenantId: string): string {
  return `member:${principal.userId}:${principal.sessionFamilyId}:${tenantId}`;
}

/** Matches no user: the creator join of a key nobody created (agents, service keys). */
const NO_USER = '00000000-0000-0000-0000-000000000000';
