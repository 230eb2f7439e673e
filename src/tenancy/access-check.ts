// A request's cached access, re-checked by PostgreSQL in the request's first tenant unit of
// work: the check is sent right after the unit's SET LOCALs and before its statements, in the
// same write (one round trip for a tenant read), and raises when the session ended, the member
// left, the key was revoked, the tenant is gone, or the role, plan or suspension is no longer
// the one the request acts on. A tenant suspended meanwhile is not refused: the check makes the
// unit READ ONLY (migration 0013). The raise aborts the transaction before any of the unit's
// statements run. Each check is one prepared call of tenantry_access.check_member() or
// check_key() (migration 0023): given the access epochs the cache holds for the entry, it
// answers from them alone while they have not moved, and otherwise reads the tenant, session,
// membership or key under row-level security as before; it answers the epochs it read, which
// the entry keeps for the next request. A refusal raises a SQLSTATE of class TN, mapped to a
// problem here.

import type { CheckQuery, ScopeCheck, TenantIdentity } from '../db/database.js';
import type { Role, TenantStatus } from '../db/tables.js';
import { AppError } from '../http/problems.js';

const REFUSALS: Readonly<Record<string, () => AppError>> = {
  TN401: () => new AppError('invalid-credentials'),
  TN403: () => new AppError('not-a-member'),
  TN404: () => new AppError('tenant-not-found'),
  TN409: () =>
    new AppError('access-changed', "your role or the tenant's plan changed while this request was on its way; nothing was done: send it again"),
};

/**
 * The access epochs a cache entry was last checked at (migration 0023), as PostgreSQL's bigint
 * text; undefined until a check has read them. The check reads them and sets them.
 */
export interface CheckedEpoch {
  epoch: string | undefined;
}

export class AccessCheck implements ScopeCheck {
  readonly tenantId: string;
  readonly query: CheckQuery;
  readonly identity: TenantIdentity;
  readonly #entry: CheckedEpoch;
  readonly #onRefused: () => void;
  #pending = true;
  #refused: AppError | undefined;

  /** `entry` is the cache entry checked; `onRefused` evicts it. */
  constructor(tenantId: string, query: CheckQuery, identity: TenantIdentity, entry: CheckedEpoch, onRefused: () => void) {
    this.tenantId = tenantId;
    this.query = query;
    this.identity = identity;
    this.#entry = entry;
    this.#onRefused = onRefused;
  }

  get pending(): boolean {
    return this.#pending;
  }

  get refused(): AppError | undefined {
    return this.#refused;
  }

  /** The check's row: the epochs it read, valid for the entry as of its snapshot. */
  passed(row: Readonly<Record<string, unknown>> | undefined): void {
    this.#pending = false;
    const epoch = row?.epoch;
    this.#entry.epoch = typeof epoch === 'string' ? epoch : undefined;
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

const MEMBER_CHECK = 'SELECT tenantry_access.check_member($1, $2, $3, $4, $5) AS epoch';
const KEY_CHECK = 'SELECT tenantry_access.check_key($1, $2, $3, $4, $5, $6, $7, $8) AS epoch';

/** What a member's request acts on, to be checked in the tenant's scope with the session named. */
export function memberCheck(
  access: CheckedAccess,
  member: { userId: string; sessionFamilyId: string },
  entry: CheckedEpoch,
  now: Date,
  onRefused: () => void,
): AccessCheck {
  const query = { text: MEMBER_CHECK, values: [entry.epoch ?? null, access.role, access.plan, access.status, now.toISOString()] };
  return new AccessCheck(access.tenantId, query, { userId: member.userId, sessionFamilyId: member.sessionFamilyId }, entry, onRefused);
}

/** What an API key's request acts on (key `keyId`, created by `createdBy`), to be checked in the key's tenant. */
export function keyCheck(
  access: CheckedAccess,
  key: { keyId: string; createdBy: string | undefined },
  entry: CheckedEpoch,
  now: Date,
  onRefused: () => void,
): AccessCheck {
  const query = {
    text: KEY_CHECK,
    values: [entry.epoch ?? null, key.keyId, key.createdBy ?? null, access.role, access.plan, access.status, now.toISOString(), access.agentId ?? null],
  };
  return new AccessCheck(access.tenantId, query, {}, entry, onRefused);
}
