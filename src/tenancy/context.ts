// The ambient request context: which tenant the scoped database helpers open transactions
// for. Set only by the HTTP access hook and enterTenant(), read only where it guards.

import { AsyncLocalStorage } from 'node:async_hooks';
import type { ScopeCheck } from '../db/database.js';
import type { Role, TenantStatus } from '../db/tables.js';

/**
 * What the ambient context holds. Use cases do not read it: they receive an Actor. It
 * exists so that db.tenant() scopes to the tenant the edge decided on, whatever a use case
 * passes around, and so that jobs and service-role audit rows keep the request's trace.
 * test/platform/ambient-context.test.ts keeps the list of its readers and setters short.
 */
export interface RequestContext {
  readonly requestId: string;
  readonly tenantId?: string | undefined;
  readonly userId?: string | undefined;
  readonly role?: Role | undefined;
  readonly plan?: string | undefined;
  readonly apiKeyId?: string | undefined;
  /** An agent key's agent: tenant units put it in app.agent_id (policies of the module that defines agents read it). */
  readonly agentId?: string | undefined;
  /**
   * The tenant's status as the request read it: a suspended tenant's units open READ ONLY.
   * Absent where nobody read it (jobs, the CLI): each unit then has PostgreSQL read it.
   */
  readonly tenantStatus?: TenantStatus | undefined;
  /**
   * The request's cached access, re-checked by its first tenant unit of work in the same round
   * trip (tenancy/access-check.ts). Absent when the access was read from the database already.
   */
  readonly scopeCheck?: ScopeCheck | undefined;
  /**
   * A scheduled service job's run (the job queue's crontab, every minute for some): the
   * platform's machinery repeating the same work, so db.service() records each of its reasons
   * once an hour, as it does work that asks to be `recurring`.
   */
  readonly scheduled?: boolean | undefined;
}

const storage = new AsyncLocalStorage<RequestContext>();

/**
 * Runs work inside a context. Only the HTTP access hook and enterTenant() call it; every
 * other entry point goes through enterTenant() (tenancy/enter-tenant.ts).
 */
export function runWithContext<T>(context: RequestContext, work: () => T): T {
  return storage.run(Object.freeze({ ...context }), work);
}

/**
 * Runs work with no request context. Long-lived things created during a request (a cache
 * refresh timer, a listener on a shared emitter, a pool warm-up) must be started here, so
 * they never act later as the tenant whose request happened to create them.
 */
export function outsideContext<T>(work: () => T): T {
  return storage.exit(work);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

export class MissingTenantContextError extends Error {
  override name = 'MissingTenantContextError';
  constructor() {
    super('tenant work was attempted outside of a tenant context');
  }
}

export function currentTenantId(): string {
  const tenantId = storage.getStore()?.tenantId;
  if (!tenantId) throw new MissingTenantContextError();
  return tenantId;
}
