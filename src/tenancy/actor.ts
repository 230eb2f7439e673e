// Who acts: built once per request at the edge (http/access.ts) and handed to every use case
// as its first argument, so a use case never asks ambient state who is calling.

import type { Role, TenantStatus } from '../db/tables.js';

interface ActorInTenant {
  readonly tenantId: string;
  /** The role in effect: a member's role, or an API key's (never above its creator's). */
  readonly role: Role;
  /**
   * The tenant's plan this request acts on: read for it, or cached and then confirmed by
   * PostgreSQL in the request's first unit of work (tenancy/access-check.ts).
   */
  readonly plan: string;
  /**
   * The tenant's status the request acts on, read or confirmed like the plan. Suspended means
   * read-only: the request's units of work run READ ONLY. Absent when not read (a job's actor).
   */
  readonly tenantStatus?: TenantStatus | undefined;
  /** Carried into audit rows and jobs, for tracing a change back to its request. */
  readonly requestId: string;
}

export interface UserActor extends ActorInTenant {
  readonly kind: 'user';
  readonly userId: string;
  readonly apiKeyId?: undefined;
  readonly agentId?: undefined;
}

export interface ApiKeyActor extends ActorInTenant {
  readonly kind: 'api_key';
  readonly apiKeyId: string;
  /** The agent an agent's key acts as: its use cases see and change only that agent's data. */
  readonly agentId?: string | undefined;
  /** An API key acts as itself: it never inherits its creator's cross-tenant identity. */
  readonly userId?: undefined;
}

/** A member or an API key acting in one tenant. */
export type Actor = UserActor | ApiKeyActor;

/** The platform operator (TENANTRY_PLATFORM_ADMIN_TOKEN): acts across tenants, in no tenant. */
export interface PlatformOperator {
  readonly kind: 'platform_admin';
  readonly requestId: string;
}

/**
 * Tenantry itself acting on a schedule or on a provider's word (billing's dunning job, a
 * payment webhook): named for the audit trail, never a credential.
 */
export interface SystemActor {
  readonly kind: 'system';
  /** What acted, e.g. `billing`. */
  readonly name: string;
  readonly requestId: string;
}

/** How audit rows and `created_by` columns name who acted: `user:<id>`, `api_key:<id>`, `platform_admin`, `system:<name>`. */
export function actorLabel(who: Actor | PlatformOperator | SystemActor): string {
  switch (who.kind) {
    case 'user':
      return `user:${who.userId}`;
    case 'api_key':
      return `api_key:${who.apiKeyId}`;
    case 'platform_admin':
      return 'platform_admin';
    case 'system':
      return `system:${who.name}`;
  }
}
