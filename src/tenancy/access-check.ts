// A request's cached access, re-checked by PostgreSQL in the request's first tenant unit of
// work: the check travels in the same message as the unit's SET LOCALs (one round trip for a
// tenant read) and raises when the session ended, the member left, the key was revoked, the
// tenant is gone, or the role, plan or suspension is no longer the one the request acts on. A
// tenant suspended meanwhile is not refused: the check makes the unit READ ONLY (migration 0013).
// The raise aborts the transaction before any of the unit's statements run. The functions are
// in migration 0012; the SQLSTATEs (class TN) map to problems here.

import pg from 'pg';
import type { ScopeCheck, TenantIdentity } from '../db/database.js';
import type { Role, TenantStatus } from '../db/tables.js';
import { AppError } from '../http/problems.js';

const REFUSALS: Readonly<Record<string, () => AppError>> = {
  TN401: () => new AppError('invalid-credentials'),
  TN403: () => new AppError('not-a-member'),
  TN404: () => new AppError('tenant-not-found'),
  TN409: () =>
    new AppError('access-changed', "your role or the tenant's plan changed while this request was on its way; nothing was done: send it again"),
};

export class AccessCheck implements ScopeCheck {
  readonly tenantId: string;
  readonly sql: string;
  readonly identity: TenantIdentity;
  readonly #onRefused: () => void;
  #pending = true;
  #refused: AppError | undefined;

  /** `onRefused` evicts the cache entry the request was served from. */
  constructor(tenantId: string, sql: string, identity: TenantIdentity, onRefused: () => void) {
    this.tenantId = tenantId;
    this.sql = sql;
    this.identity = identity;
    this.#onRefused = onRefused;
  }

  get pending(): boolean {
    return this.#pending;
  }

  get refused(): AppError | undefined {
    return this.#refused;
  }

  passed(): void {
    this.#pending = false;
  }

  refusal(error: unknown): Error | undefined {
    const code = (error as { code?: unknown } | null)?.code;
    const refuse = typeof code === 'string' && Object.hasOwn(REFUSALS, code) ? REFUSALS[code] : undefined;
    if (!refuse) return undefined;
    this.#pending = false;
    if (!this.#refused) {
      this.#onRefused();
      this.#refused = refuse();
      this.#refused.cause = error;
    }
    return this.#refused;
  }
}

/** What a cached access claims, for PostgreSQL to confirm. */
interface CheckedAccess {
  readonly tenantId: string;
  readonly role: Role;
  readonly plan: string;
  readonly status: TenantStatus;
  readonly agentId?: string | undefined;
}

/** What a member's request acts on, to be checked in the tenant's scope with the session named. */
export function memberCheck(
  access: CheckedAccess,
  member: { userId: string; sessionFamilyId: string },
  now: Date,
  onRefused: () => void,
): AccessCheck {
  const sql = `SELECT tenantry_access.verify_member(${literals(access.role, access.plan, access.status, now.toISOString())})`;
  return new AccessCheck(access.tenantId, sql, { userId: member.userId, sessionFamilyId: member.sessionFamilyId }, onRefused);
}

/** What an API key's request acts on, to be checked in the key's tenant. */
export function keyCheck(access: CheckedAccess, keyId: string, now: Date, onRefused: () => void): AccessCheck {
  const agent = access.agentId === undefined ? 'NULL' : literals(access.agentId);
  const sql = `SELECT tenantry_access.verify_key(${literals(keyId, access.role, access.plan, access.status, now.toISOString())}, ${agent})`;
  return new AccessCheck(access.tenantId, sql, {}, onRefused);
}

/** The check is SQL text (it rides in a simple-protocol message): every value a quoted literal. */
function literals(...values: string[]): string {
  return values.map((value) => pg.escapeLiteral(value)).join(', ');
}
