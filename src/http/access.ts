// The edge of every request: authenticate, resolve the tenant, authorize, build the Actor
// once, then run the handler inside that tenant's context. Routes only declare access.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { Logger } from 'pino';
import { bearerChallenge, type Authenticator, type Principal, type UserPrincipal } from '../auth/authenticate.js';
import type { ScopeCheck } from '../db/database.js';
import type { Role } from '../db/tables.js';
import type { Actor, PlatformOperator } from '../tenancy/actor.js';
import { runWithContext } from '../tenancy/context.js';
import { enterTenant } from '../tenancy/enter-tenant.js';
import type { TenantResolver } from '../tenancy/resolve-tenant.js';
import { roleAtLeast } from '../tenancy/roles.js';
import { AppError } from './problems.js';

export type Access =
  | { readonly kind: 'public' }
  /** A signed-in user, no tenant needed (/v1/me, switch-tenant). */
  | { readonly kind: 'user' }
  /**
   * A member (or API key) of the resolved tenant with at least this role. An agent's key is
   * refused (403) unless the route admits agents: then its use cases act only as that agent.
   */
  | { readonly kind: 'tenant'; readonly minRole: Role; readonly agents?: boolean }
  /** The platform operator (TENANTRY_PLATFORM_ADMIN_TOKEN): the only HTTP path across tenants. */
  | { readonly kind: 'platform_admin' };

export const access = {
  public: { kind: 'public' } as Access,
  user: { kind: 'user' } as Access,
  tenant: (minRole: Role = 'viewer', options: { agents?: boolean } = {}): Access =>
    options.agents ? { kind: 'tenant', minRole, agents: true } : { kind: 'tenant', minRole },
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
    /** Who acts, on a tenant-access route; undefined on every other route. */
    actor: Actor | undefined;
    principal: Principal | undefined;
    /** The actor's access came from the cache: its first tenant unit re-checks it (tenancy/access-check.ts). */
    accessCheck: ScopeCheck | undefined;
  }
}

/** The actor of a tenant-access route: what its handler passes to use cases. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new AppError('forbidden', 'this route needs a tenant credential');
  return request.actor;
}

/** The operator behind a platform-admin route (the access hook has checked the credential). */
export function platformOperatorOf(request: FastifyRequest): PlatformOperator {
  if (request.routeOptions.config.access?.kind !== 'platform_admin') {
    throw new AppError('forbidden', 'this route needs the platform-admin credential');
  }
  return { kind: 'platform_admin', requestId: request.id };
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
  /** Plan gate: throws when the actor's tenant lacks the feature a route declares. */
  readonly requireFeature?: (feature: string, actor: Actor) => Promise<void>;
  /** Runs once a tenant request's actor is known (rate limits, API-call metering); may throw. */
  readonly admitTenantRequest?: (actor: Actor, reply: FastifyReply) => Promise<void>;
  /** Runs for every request on a user-access route once its user is known (the per-user rate limit); may throw. */
  readonly admitUserRequest?: (userId: string, reply: FastifyReply) => Promise<void>;
}

function isPlatformAdmin(authorization: string | undefined, expected: Buffer | undefined): boolean {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  if (!token || !expected) return false;
  const actual = createHash('sha256').update(token, 'utf8').digest();
  return timingSafeEqual(actual, expected);
}

/** Authenticates and authorizes the request; answers its actor when the route acts in a tenant. */
async function establish(request: FastifyRequest, reply: FastifyReply, deps: AccessDependencies): Promise<Actor | undefined> {
  const declared = request.routeOptions.config.access ?? DEFAULT_ACCESS;
  if (declared.kind === 'public') return undefined;
  if (declared.kind === 'platform_admin') {
    if (isPlatformAdmin(request.headers.authorization, deps.config.platformAdminTokenHash)) return undefined;
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
    return undefined;
  }
  const header = request.headers['x-tenant-id'];
  const { access: tenant, check } = await deps.resolver.resolve(
    principal,
    { header: Array.isArray(header) ? header[0] : header, hostname: request.hostname },
    request.id,
  );
  request.accessCheck = check;
  if (!roleAtLeast(tenant.role, declared.minRole)) {
    throw new AppError('forbidden', `this action needs the ${declared.minRole} role or higher`, {
      required_role: declared.minRole,
    });
  }
  const { tenantId, role, plan, status: tenantStatus, agentId } = tenant;
  // Deny by default: an agent's key reaches only the routes that declare they serve agents.
  if (agentId !== undefined && !declared.agents) {
    throw new AppError('forbidden', "an agent's API key acts only on its agent's memories; this route is not for agents");
  }
  return principal.kind === 'user'
    ? { kind: 'user', userId: principal.userId, tenantId, role, plan, tenantStatus, requestId: request.id }
    : { kind: 'api_key', apiKeyId: principal.keyId, tenantId, role, plan, tenantStatus, requestId: request.id, ...(agentId ? { agentId } : {}) };
}

/**
 * Names the actor on every later log line of the request, "request completed" included (Fastify
 * writes it through reply.log, the same logger). A pino logger made for this request is bound
 * in place; any other logger (a host app may bring its own) gets a child.
 */
function bindActor(request: FastifyRequest, reply: FastifyReply, bindings: Record<string, string | undefined>): void {
  const log = request.log as FastifyBaseLogger & Partial<Pick<Logger, 'setBindings'>>;
  if (typeof log.setBindings === 'function' && log === reply.log) log.setBindings(bindings);
  else request.log = reply.log = request.log.child(bindings);
}

export function registerAccess(app: FastifyInstance, deps: AccessDependencies): void {
  app.decorateRequest('actor', undefined);
  app.decorateRequest('principal', undefined);
  app.decorateRequest('accessCheck', undefined);

  // Every handler runs inside its request's context; nothing can forget to enter it. A request
  // without a tenant still gets a context of its own: its id (and user) for service-role audit.
  app.addHook('onRoute', (route) => {
    const handler = route.handler as RouteHandlerMethod;
    route.handler = function contextualHandler(request, reply) {
      const run = () => handler.call(this, request, reply);
      if (request.actor) return enterTenant(request.actor, run, request.accessCheck);
      const userId = request.principal?.kind === 'user' ? request.principal.userId : undefined;
      return runWithContext({ requestId: request.id, userId }, run);
    };
  });

  app.addHook('onRequest', async (request, reply) => {
    if (request.is404) return;
    try {
      request.actor = await establish(request, reply, deps);
    } catch (error) {
      if (error instanceof AppError && error.status === 401) reply.header('WWW-Authenticate', bearerChallenge(error));
      throw error;
    }
    const actor = request.actor;
    if (actor) {
      bindActor(request, reply, { tenant_id: actor.tenantId, user_id: actor.userId });
      await deps.admitTenantRequest?.(actor, reply);
      const feature = request.routeOptions.config.feature;
      if (feature) await deps.requireFeature?.(feature, actor);
    }
  });

  // A handler that opened no tenant unit (an answer from a cache, a refusal of its own) has not
  // had its cached access re-checked yet: that happens before the answer leaves. A refusal's
  // own answer passes through here again, its check no longer pending.
  // A callback hook: most answers have nothing to confirm, and pay no promise for it.
  app.addHook('onSend', (request, reply, payload, done) => {
    const check = request.accessCheck;
    if (!check?.pending || reply.statusCode >= 500) return done(null, payload);
    deps.resolver.confirm(check).then(() => done(null, payload), done);
  });
}
