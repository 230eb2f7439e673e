// A request's cached access, re-checked by PostgreSQL in the request's first tenant unit of
// work: the check is sent right after the unit's SET LOCALs and before its statements, in the
// same write (one round trip for a tenant read), and raises when the session ended, the member
// left, the key was revoked, the tenant is gone, or the role, plan or suspension is no longer
// the one the request acts on. A tenant suspended meanwhile is not refused: the check makes the
// unit READ ONLY (migration 0013). The raise aborts the transaction before any of the unit's
// statements run. Each check is one statement, prepared once per connection: the rows it reads
// are those the unit's settings name, under row-level security; it calls
// tenantry_access.refuse() (migration 0020) only to fail, with a SQLSTATE of class TN mapped to
// a problem here.

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

export class AccessCheck implements ScopeCheck {
  readonly tenantId: string;
  readonly query: CheckQuery;
  readonly identity: TenantIdentity;
  readonly #onRefused: () => void;
  #pending = true;
  #refused: AppError | undefined;

  /** `onRefused` evicts the cache entry the request was served from. */
  constructor(tenantId: string, query: CheckQuery, identity: TenantIdentity, onRefused: () => void) {
    this.tenantId = tenantId;
    this.query = query;
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

/** The tenant the unit is scoped to (app.tenant_id), live: no row when it is gone. */
const UNIT_TENANT = `FROM (SELECT nullif(current_setting('app.tenant_id', true), '')::uuid AS id) AS wanted
LEFT JOIN tenants t ON t.id = wanted.id AND t.deleted_at IS NULL`;

/**
 * A member's access: the tenant live, the session (app.session_family_id) live at $4, the user
 * (app.user_id) still a member with role $1, the tenant on plan $2, and held as status $3 says.
 */
const MEMBER_CHECK = `SELECT CASE
    WHEN t.id IS NULL THEN tenantry_access.refuse('TN404', 'the tenant no longer exists')
    WHEN NOT EXISTS (SELECT FROM sessions s
                      WHERE s.family_id = nullif(current_setting('app.session_family_id', true), '')::uuid
                        AND s.user_id = nullif(current_setting('app.user_id', true), '')::uuid
                        AND s.revoked_at IS NULL AND s.expires_at > $4::timestamptz)
      THEN tenantry_access.refuse('TN401', 'the session has ended')
    WHEN m.role IS NULL THEN tenantry_access.refuse('TN403', 'the user is no longer a member')
    WHEN m.role IS DISTINCT FROM $1::text OR t.plan IS DISTINCT FROM $2::text
      THEN tenantry_access.refuse('TN409', 'the role or plan changed')
    WHEN t.status = 'suspended' OR $3::text = 'suspended' THEN tenantry_access.hold(t.status, $3::text)
    ELSE true
  END AS verified
${UNIT_TENANT}
LEFT JOIN memberships m
  ON m.tenant_id = t.id AND m.user_id = nullif(current_setting('app.user_id', true), '')::uuid AND m.deleted_at IS NULL`;

/**
 * An API key's access: key $1 live at $5 in the tenant, acting as agent $6 (or none), its
 * creator still a member, its role (never above the creator's) $2, the plan $3, the hold as $4 says.
 */
const KEY_CHECK = `SELECT CASE
    WHEN t.id IS NULL THEN tenantry_access.refuse('TN401', 'the key''s tenant no longer exists')
    WHEN k.id IS NULL OR k.created_by IS NULL THEN tenantry_access.refuse('TN401', 'the key is revoked or expired')
    WHEN k.agent_id IS DISTINCT FROM $6::uuid
      THEN tenantry_access.refuse('TN401', 'the key does not act as the agent the request acts as')
    WHEN m.role IS NULL THEN tenantry_access.refuse('TN401', 'the key''s creator is no longer a member')
    WHEN (CASE WHEN tenantry_access.role_rank(m.role) < tenantry_access.role_rank(k.role) THEN m.role ELSE k.role END)
           IS DISTINCT FROM $2::text
         OR t.plan IS DISTINCT FROM $3::text
      THEN tenantry_access.refuse('TN409', 'the role or plan changed')
    WHEN t.status = 'suspended' OR $4::text = 'suspended' THEN tenantry_access.hold(t.status, $4::text)
    ELSE true
  END AS verified
${UNIT_TENANT}
LEFT JOIN api_keys k
  ON k.tenant_id = t.id AND k.id = $1::uuid AND k.revoked_at IS NULL AND k.deleted_at IS NULL
 AND (k.expires_at IS NULL OR k.expires_at > $5::timestamptz)
LEFT JOIN memberships m ON m.tenant_id = t.id AND m.user_id = k.created_by AND m.deleted_at IS NULL`;

/** What a member's request acts on, to be checked in the tenant's scope with the session named. */
export function memberCheck(
  access: CheckedAccess,
  member: { userId: string; sessionFamilyId: string },
  now: Date,
  onRefused: () => void,
): AccessCheck {
  const query = { text: MEMBER_CHECK, values: [access.role, access.plan, access.status, now.toISOString()] };
  return new AccessCheck(access.tenantId, query, { userId: member.userId, sessionFamilyId: member.sessionFamilyId }, onRefused);
}

/** What an API key's request acts on, to be checked in the key's tenant. */
export function keyCheck(access: CheckedAccess, keyId: string, now: Date, onRefused: () => void): AccessCheck {
  const query = { text: KEY_CHECK, values: [keyId, access.role, access.plan, access.status, now.toISOString(), access.agentId ?? null] };
  return new AccessCheck(access.tenantId, query, {}, onRefused);
}
