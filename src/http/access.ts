// The edge of every request: authenticate, resolve the tenant, authorize, then run the
// handler inside AsyncLocalStorage.run() with that context. Routes only declare access.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { bearerChallenge, type Authenticator, type Principal, type UserPrincipal } from '../auth/authenticate.js';
import type { Role } from '../db/tables.js';
import { runWithContext, type RequestContext } from '../tenancy/context.js';
import type { TenantResolver } from '../tenancy/resolve-tenant.js';
import { roleAtLeast } from '../tenancy/roles.js';
import { AppError } from './problems.js';

export type Access =
  | { readonly kind: 'public' }
  /** A signed-in user, no tenant needed (/v1/me, switch-tenant). */
  | { readonly kind: 'user' }
  /** A member (or API key) of the resolved tenant with at least this role. */
  | { readonly kind: 'tenant'; readonly minRole: Role }
  /** The platform operator (TENANTRY_PLATFORM_ADMIN_TOKEN): the only HTTP path across tenants. */
  | { readonly kind: 'platform_admin' };

export const access = {
  public: { kind: 'public' } as Access,
  user: { kind: 'user' } as Access,
  tenant: (minRole: Role = 'viewer'): Access => ({ kind: 'tenant', minRole }),
  platformAdmin: { kind: 'platform_admin' } as Access,
};

/** Routes that forget to declare access get the strictest common case, not public. */
const DEFAULT_ACCESS = access.tenant('viewer');

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** A feature (boolean flag) the tenant must have; otherwise 403 feature-not-in-plan naming the cheapest plan with it. */
    feature?: string;
  }
  interface FastifyRequest {
    context: RequestContext;
    principal: Principal | undefined;
  }
}

/** The user behind a request on a user-access route. */
export function signedInUser(request: FastifyRequest): UserPrincipal {
  const principal = request.principal;
  if (principal?.kind !== 'user') throw new AppError('forbidden', 'this route needs a user token');
  return principal;
}

export interface AccessDependencies {
  readonly authenticator: Authenticator;
  readonly resolver: TenantResolver;
  readonly config: { readonly platformAdminTokenHash: Buffer | undefined };
  /** Plan gate: throws when the tenant of the context lacks the feature a route declares. */
  readonly requireFeature?: (feature: string, context: RequestContext) => Promise<void>;
  /** Runs once a tenant request's context is set (rate limits, API-call metering); may throw. */
  readonly admitTenantRequest?: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Runs for every request on a user-access route once its user is known (the per-user rate limit); may throw. */
  readonly admitUserRequest?: (userId: string, reply: FastifyReply) => Promise<void>;
}

function isPlatformAdmin(authorization: string | undefined, expected: Buffer | undefined): boolean {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  if (!token || !expected) return false;
  const actual = createHash('sha256').update(token, 'utf8').digest();
  return timingSafeEqual(actual, expected);
}

async function establish(request: FastifyRequest, reply: FastifyReply, deps: AccessDependencies): Promise<RequestContext> {
  const base: RequestContext = { requestId: request.id };
  const declared = request.routeOptions.config.access ?? DEFAULT_ACCESS;
  if (declared.kind === 'public') return base;
  if (declared.kind === 'platform_admin') {
    if (isPlatformAdmin(request.headers.authorization, deps.config.platformAdminTokenHash)) return base;
    // A valid tenant credential is still not the operator's: 403 rather than 401.
    const principal = await deps.authenticator.authenticate(request.headers.authorization);
    throw principal ? new AppError('forbidden', 'this route needs the platform-admin credential') : new AppError('unauthenticated');
  }
  const principal = await deps.authenticator.authenticate(request.headers.authorization);
  if (!principal) throw new AppError('unauthenticated', 'send Authorization: Bearer <access token or API key>');
  request.principal = principal;
  if (declared.kind === 'user') {
    if (principal.kind !== 'user') throw new AppError('forbidden', 'this route needs a user token, not an API key');
    // Before the session check: a request over the user's limit costs no database round trip.
    // The token is verified already, so only a holder of this user's token can spend their bucket.
    await deps.admitUserRequest?.(principal.userId, reply);
    await deps.resolver.assertSessionLive(principal);
    return { ...base, userId: principal.userId };
  }
  const header = request.headers['x-tenant-id'];
  const tenant = await deps.resolver.resolve(
    principal,
    { header: Array.isArray(header) ? header[0] : header, hostname: request.hostname },
    request.id,
  );
  if (!roleAtLeast(tenant.role, declared.minRole)) {
    throw new AppError('forbidden', `this action needs the ${declared.minRole} role or higher`, {
      required_role: declared.minRole,
    });
  }
  return {
    ...base,
    tenantId: tenant.tenantId,
    role: tenant.role,
    plan: tenant.plan,
    // An API key acts as itself: it must not inherit its creator's cross-tenant identity.
    userId: principal.kind === 'user' ? principal.userId : undefined,
    apiKeyId: principal.kind === 'api_key' ? principal.keyId : undefined,
  };
}

export function registerAccess(app: FastifyInstance, deps: AccessDependencies): void {
  app.decorateRequest('context', null as unknown as RequestContext);
  app.decorateRequest('principal', undefined);

  // Every handler runs inside the request's context; nothing can forget to enter it.
  app.addHook('onRoute', (route) => {
    const handler = route.handler as RouteHandlerMethod;
    route.handler = function contextualHandler(request, reply) {
      return runWithContext(request.context, () => handler.call(this, request, reply));
    };
  });

  app.addHook('onRequest', async (request, reply) => {
    request.context = { requestId: request.id };
    if (request.is404) return;
    try {
      request.context = await establish(request, reply, deps);
    } catch (error) {
      if (error instanceof AppError && error.status === 401) reply.header('WWW-Authenticate', bearerChallenge(error));
      throw error;
    }
    if (request.context.tenantId) {
      // Both loggers: Fastify writes "request completed" through reply.log.
      request.log = reply.log = request.log.child({ tenant_id: request.context.tenantId, user_id: request.context.userId });
      await deps.admitTenantRequest?.(request, reply);
      const feature = request.routeOptions.config.feature;
      if (feature) await deps.requireFeature?.(feature, request.context);
    }
  });
}
