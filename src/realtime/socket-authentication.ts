// Authenticates a realtime connection with the same authenticator and tenant resolver every
// HTTP request goes through (never a second path): a bearer access token or an API key, its
// tenant decided by the credential. Access read from the cache is confirmed by PostgreSQL
// before the connection is admitted, since a socket has no later unit of work to carry it.

import { decodeJwt } from 'jose';
import type { Authenticator } from '../auth/authenticate.js';
import { isUuid } from '../db/ids.js';
import { AppError } from '../http/problems.js';
import type { TenantHints, TenantResolver } from '../tenancy/resolve-tenant.js';
import type { SocketIdentity } from './socket-identity.js';

export class SocketAuthentication {
  readonly #authenticator: Authenticator;
  readonly #resolver: TenantResolver;

  constructor(authenticator: Authenticator, resolver: TenantResolver) {
    this.#authenticator = authenticator;
    this.#resolver = resolver;
  }

  /** Throws the same problems as an HTTP request would get (401, 403 tenant-suspended, ...). */
  async authenticate(token: string, hints: TenantHints, requestId: string): Promise<SocketIdentity> {
    const principal = await this.#authenticator.authenticate(`Bearer ${token}`);
    if (!principal) throw new AppError('unauthenticated');
    const { access, check } = await this.#resolver.resolve(principal, hints, requestId);
    if (check) await this.#resolver.confirm(check);
    // A suspended tenant is read-only for HTTP; a socket only carries news of writes, of which
    // it has none, and its open sockets are closed (4423): a new one is refused the same way.
    if (access.status === 'suspended') throw new AppError('tenant-suspended', 'this tenant is suspended: realtime reopens when it is active again');
    const base = { tenantId: access.tenantId, role: access.role, plan: access.plan };
    if (principal.kind === 'user') {
      const exp = decodeJwt(token).exp;
      return { ...base, kind: 'user', userId: principal.userId, sessionFamilyId: principal.sessionFamilyId, expiresAt: typeof exp === 'number' ? exp * 1000 : null };
    }
    // Agent-scoped keys carry the agent they act for (once the key format has one).
    const agentId = (principal as { agentId?: unknown }).agentId;
    return {
      ...base,
      kind: 'api_key',
      keyId: principal.keyId,
      agentId: isUuid(agentId) ? agentId : undefined,
      expiresAt: principal.expiresAt?.getTime() ?? null,
    };
  }
}
