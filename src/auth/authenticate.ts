// Turns an Authorization header into a principal: a user (JWT access token) or an API key.
// Every failure is the same 401, so a caller learns nothing about which part was wrong, except
// that a genuine access token has expired: that client should refresh rather than sign in again.

import { EXPIRED, type AccessTokens } from './access-tokens.js';
import { looksLikeApiKey, parseApiKey } from './api-key-format.js';
import { matchesHash, sha256 } from './opaque-tokens.js';
import type { AccessCache } from '../cache/access-cache.js';
import type { Clock } from '../clock.js';
import type { Database } from '../db/database.js';
import type { Role } from '../db/tables.js';
import { AppError } from '../http/problems.js';

export interface UserPrincipal {
  readonly kind: 'user';
  readonly userId: string;
  /** The token's tenant_id claim, if it has one. */
  readonly claimedTenantId: string | undefined;
  readonly sessionFamilyId: string;
}

export interface ApiKeyPrincipal {
  readonly kind: 'api_key';
  readonly keyId: string;
  readonly tenantId: string;
  readonly role: Role;
  readonly scopes: readonly string[];
  /** The person the key acts for; their membership and current role bound it. */
  readonly createdBy: string;
  readonly expiresAt: Date | null;
  /** The agent the key acts as: then it acts only on that agent's data, on routes that admit agents. */
  readonly agentId?: string | undefined;
}

export type Principal = UserPrincipal | ApiKeyPrincipal;

const invalid = () => new AppError('invalid-credentials');
const expired = () => new AppError('token-expired', 'the access token has expired; get a new one with POST /v1/auth/refresh and your refresh token');

/**
 * The WWW-Authenticate challenge (RFC 6750 section 3) of a 401 from bearer authentication: no
 * error code when no credential was sent, invalid_token when the one sent was refused.
 */
export function bearerChallenge(error: AppError): string {
  const realm = 'Bearer realm="tenantry"';
  if (error.code === 'unauthenticated') return realm;
  // error_description is a quoted-string of printable ASCII without " or \.
  const description = (error.detail ?? error.message).replace(/[^\x20-\x7e]|["\\]/g, '');
  return `${realm}, error="invalid_token", error_description="${description}"`;
}

export class Authenticator {
  constructor(
    private readonly db: Database,
    private readonly tokens: AccessTokens,
    private readonly clock: Clock,
    /**
     * Keys this instance has looked up lately, under the SHA-256 of the whole key (never the
     * key). A request authenticated from it is re-checked in its own transaction (the key
     * still live: tenancy/access-check.ts), so a revoked key is refused on its next use.
     */
    private readonly cache: AccessCache,
  ) {}

  /** undefined when no credential was presented; throws a 401 for a bad one. */
  async authenticate(authorization: string | undefined): Promise<Principal | undefined> {
    if (authorization === undefined || authorization === '') return undefined;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match) throw invalid();
    const credential = match[1]!;
    return looksLikeApiKey(credential) ? this.#apiKey(credential) : this.#accessToken(credential);
  }

  async #accessToken(token: string): Promise<UserPrincipal> {
    const claims = await this.tokens.verify(token);
    if (claims === EXPIRED) throw expired();
    if (!claims) throw invalid();
    return { kind: 'user', userId: claims.userId, claimedTenantId: claims.tenantId, sessionFamilyId: claims.sessionFamilyId };
  }

  async #apiKey(token: string): Promise<ApiKeyPrincipal> {
    const cacheKey = `api-key:${sha256(token).toString('base64')}`;
    const cached = this.cache.get<ApiKeyPrincipal>(cacheKey);
    const principal =
      cached ?? (await this.cache.load(cacheKey, (key) => ({ tenantId: key.tenantId, keyId: key.keyId }), () => this.#lookUpKey(token)));
    if (principal.expiresAt && principal.expiresAt <= this.clock.now()) throw invalid();
    return principal;
  }

  async #lookUpKey(token: string): Promise<ApiKeyPrincipal> {
    const parsed = parseApiKey(token);
    if (!parsed) throw invalid();
    // The key row alone: whether its tenant is live and usable is the resolver's question,
    // answered in that tenant's scope (a join with tenant_registry, a security-barrier view,
    // would read every tenant's row to find one).
    const candidates = await this.db.identity({ apiKeyPrefix: parsed.prefix }, (tx) =>
      tx
        .selectFrom('api_keys as k')
        .select(['k.id', 'k.tenant_id', 'k.secret_hash', 'k.role', 'k.scopes', 'k.created_by', 'k.expires_at', 'k.agent_id'])
        .where('k.prefix', '=', parsed.prefix)
        .where('k.revoked_at', 'is', null)
        .where('k.deleted_at', 'is', null)
        .execute(),
    );
    const now = this.clock.now();
    const key = candidates.find((row) => matchesHash(parsed.secret, row.secret_hash));
    // A key nobody answers for (only revoked ones can exist, see api_keys_live_key_has_creator) never works.
    if (!key || !key.created_by || (key.expires_at && key.expires_at <= now)) throw invalid();
    return {
      kind: 'api_key',
      keyId: key.id,
      tenantId: key.tenant_id,
      role: key.role,
      scopes: key.scopes,
      createdBy: key.created_by,
      expiresAt: key.expires_at,
      ...(key.agent_id ? { agentId: key.agent_id } : {}),
    };
  }
}
