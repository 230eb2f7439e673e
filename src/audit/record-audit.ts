// Writes audit rows inside the transaction that makes the change, so a change and its
// audit row commit together or not at all. Who acted and the request id come from the
// Actor the edge built, never from the caller's input.

import type { Tx } from '../db/database.js';
import { newId } from '../db/ids.js';
import { actorLabel, type Actor, type PlatformOperator, type SystemActor } from '../tenancy/actor.js';

export interface AuditEntry {
  /** What happened, e.g. `plan.changed`, `flag_override.set`. */
  readonly action: string;
  /** What it happened to, e.g. `plan`, `flag:dark_mode`, `settings`. */
  readonly target: string;
  readonly before: unknown;
  readonly after: unknown;
}

function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/** The columns every audit row has: who, what, before/after, and the request. */
function auditRow(who: Actor | PlatformOperator | SystemActor, entry: AuditEntry) {
  return {
    id: newId(),
    actor: actorLabel(who),
    action: entry.action,
    target: entry.target,
    before: json(entry.before),
    after: json(entry.after),
    request_id: who.requestId,
  };
}

/** In a db.tenant() transaction: the query layer fills tenant_id with the current tenant. */
export async function recordAudit(tx: Tx, actor: Actor, entry: AuditEntry): Promise<void> {
  await tx.insertInto('audit_log').values(auditRow(actor, entry)).execute();
}

/**
 * In a db.service() transaction (platform admin acting on one tenant): names the tenant
 * itself, since the service role has no tenant scope. Unsafe: callers must have checked
 * that the operator is the one acting (or, for a tenant's Actor, that `tenantId` is its own).
 */
export async function unsafeRecordAuditForTenant(
  tx: Tx,
  tenantId: string,
  operator: Actor | PlatformOperator | SystemActor,
  entry: AuditEntry,
): Promise<void> {
  await tx.insertInto('audit_log').values({ tenant_id: tenantId, ...auditRow(operator, entry) }).execute();
}

/** Changes of platform data (plans, flag definitions, plan defaults): no tenant owns them. */
export async function recordPlatformAudit(tx: Tx, operator: PlatformOperator, entry: AuditEntry): Promise<void> {
  await tx.insertInto('platform_audit_log').values(auditRow(operator, entry)).execute();
}

/**
 * Service role: an event of a person's own account (a password or email change), recorded in
 * every tenant they are a live member of, so each tenant's admins see it. The entry must
 * carry no secret and no address: it names the user by id only.
 */
export async function unsafeRecordAccountAudit(tx: Tx, userId: string, requestId: string | null, entry: AuditEntry): Promise<void> {
  const tenants = await tx.selectFrom('memberships').select('tenant_id').where('user_id', '=', userId).where('deleted_at', 'is', null).execute();
  if (tenants.length === 0) return;
  const row = { actor: `user:${userId}`, action: entry.action, target: entry.target, before: json(entry.before), after: json(entry.after), request_id: requestId };
  await tx
    .insertInto('audit_log')
    .values(tenants.map(({ tenant_id }) => ({ tenant_id, id: newId(), ...row })))
    .execute();
}

/**
 * In a db.tenant() transaction, for a person who acts before they are a member (accepting an
 * invitation): no Actor exists yet, so the row names the user directly.
 */
export async function recordUserAudit(tx: Tx, userId: string, requestId: string | null, entry: AuditEntry): Promise<void> {
  await tx
    .insertInto('audit_log')
    .values({ id: newId(), actor: `user:${userId}`, action: entry.action, target: entry.target, before: json(entry.before), after: json(entry.after), request_id: requestId })
    .execute();
}
