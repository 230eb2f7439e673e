// The request context: who is asking, in which tenant, under which request id.
// Set once at the edge with AsyncLocalStorage.run(); never with enterWith().

import { AsyncLocalStorage } from 'node:async_hooks';
import type { Role } from '../db/tables.js';

export interface RequestContext {
  readonly requestId: string;
  readonly tenantId?: string | undefined;
  readonly userId?: string | undefined;
  readonly role?: Role | undefined;
  readonly plan?: string | undefined;
  readonly apiKeyId?: string | undefined;
}

const storage = new AsyncLocalStorage<RequestContext>();

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
