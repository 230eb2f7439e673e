// What changed, as every instance hears it: platform data (plans, flag definitions, plan
// defaults) or one tenant's data (plan, settings, flag overrides).

import { isUuid } from '../db/ids.js';

export type CacheEvent = { readonly scope: 'platform' } | { readonly scope: 'tenant'; readonly tenantId: string };

export function encodeCacheEvent(event: CacheEvent): string {
  return JSON.stringify(event);
}

/** Undefined for anything that is not an event we send: a stray message evicts nothing. */
export function decodeCacheEvent(text: string): CacheEvent | undefined {
  try {
    const value = JSON.parse(text) as { scope?: unknown; tenantId?: unknown };
    if (value.scope === 'platform') return { scope: 'platform' };
    if (value.scope === 'tenant' && isUuid(value.tenantId)) {
      return { scope: 'tenant', tenantId: value.tenantId };
    }
  } catch {
    // not JSON
  }
  return undefined;
}
