// The one way into a tenant for work that is not an HTTP request (a CLI command, a job, a
// webhook, a WebSocket message) or that reaches a tenant the request does not act in.

import type { ScopeCheck } from '../db/database.js';
import { newId } from '../db/ids.js';
import type { Actor } from './actor.js';
import { currentContext, runWithContext, type RequestContext } from './context.js';

/** A tenant entered by id, with what tracing and service-role audit should know. */
export interface TenantEntry {
  readonly tenantId: string;
  /** Names the work in logs and audit rows; defaults to the surrounding request's id, else a new one. */
  readonly requestId?: string | undefined;
  /** The user on whose behalf the work runs, if any. */
  readonly userId?: string | undefined;
}

/**
 * Runs `work` with `who`'s tenant as the ambient tenant, so that db.tenant() and
 * db.tenantStatement() inside it are scoped to that tenant (and jobs it enqueues carry it).
 * Given an Actor, the whole actor is entered; given a tenant id or a TenantEntry, only the
 * tenant (and user) are, and use cases inside still need an actor passed to them. A request
 * whose access came from the cache passes its `scopeCheck`: the first tenant unit runs it.
 *
 * Besides the HTTP access hook this is the only place that sets the ambient context; an
 * entry point calling it is listed, with its reason, in test/platform/ambient-context.test.ts.
 *
 * @example
 *   // a CLI command or a webhook handler that has resolved its tenant
 *   await enterTenant(tenantId, () => db.tenant((tx) => tx.selectFrom('projects').selectAll().execute()));
 */
export function enterTenant<T>(who: Actor | TenantEntry | string, work: () => T, scopeCheck?: ScopeCheck): T {
  return runWithContext(contextOf(typeof who === 'string' ? { tenantId: who } : who, scopeCheck), work);
}

function contextOf(who: Actor | TenantEntry, scopeCheck: ScopeCheck | undefined): RequestContext {
  const requestId = who.requestId ?? currentContext()?.requestId ?? newId();
  if (!('kind' in who)) return { requestId, tenantId: who.tenantId, userId: who.userId, scopeCheck };
  return {
    requestId,
    tenantId: who.tenantId,
    role: who.role,
    plan: who.plan,
    userId: who.userId,
    apiKeyId: who.apiKeyId,
    agentId: who.agentId,
    tenantStatus: who.tenantStatus,
    scopeCheck,
  };
}
