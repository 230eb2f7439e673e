// The platform operator's changes to flags: definitions, plan defaults and any tenant's
// overrides. Each runs through the audited service role, writes its audit row in the same
// transaction and evicts the affected cache entries on every instance.

import { recordPlatformAudit, unsafeRecordAuditForTenant } from '../audit/record-audit.js';
import { actorLabel, type PlatformOperator } from '../tenancy/actor.js';
import type { CacheInvalidation } from '../cache/cache-invalidation.js';
import type { CacheEvent } from '../cache/cache-event.js';
import type { Clock } from '../clock.js';
import type { Database, Tx } from '../db/database.js';
import { newId } from '../db/ids.js';
import { AppError } from '../http/problems.js';
import { flagDefinitionFromRow, type BucketAttribute, type FlagDefinition, type FlagKind } from './flag.js';
import { assertValueFits } from './flag-values.js';

export interface FlagDefinitionInput {
  readonly kind: FlagKind;
  readonly description?: string | undefined;
  readonly defaultValue?: unknown;
  readonly rolloutPercentage?: number | undefined;
  readonly bucketBy?: BucketAttribute | undefined;
  readonly tenantEditable?: boolean | undefined;
}

function findFlag(tx: Tx, key: string) {
  return tx.selectFrom('flag_definitions').selectAll().where('key', '=', key).forUpdate().executeTakeFirst();
}

async function requireFlag(tx: Tx, key: string): Promise<FlagDefinition> {
  const row = await findFlag(tx, key);
  if (!row) throw new AppError('not-found', `no flag "${key}"`);
  return flagDefinitionFromRow(row);
}

export class FlagAdministration {
  constructor(
    private readonly db: Database,
    private readonly invalidation: CacheInvalidation,
    private readonly clock: Clock,
  ) {}

  /** Creates the flag or replaces its definition; a flag's kind never changes. */
  async define(operator: PlatformOperator, key: string, input: FlagDefinitionInput): Promise<FlagDefinition> {
    const now = this.clock.now();
    if (input.kind === 'rollout') {
      if (input.rolloutPercentage === undefined) {
        throw new AppError('validation-failed', 'a rollout flag needs rolloutPercentage', { field: 'rolloutPercentage' });
      }
      if (input.defaultValue !== undefined && input.defaultValue !== false) {
        throw new AppError('validation-failed', 'a rollout flag has no defaultValue: it is true inside the rollout, false outside', {
          field: 'defaultValue',
        });
      }
    } else if (input.rolloutPercentage !== undefined) {
      throw new AppError('validation-failed', 'only rollout flags take rolloutPercentage', { field: 'rolloutPercentage' });
    }
    const defaultValue = input.kind === 'rollout' ? false : input.defaultValue;
    if (defaultValue === undefined) throw new AppError('validation-failed', 'defaultValue is required', { field: 'defaultValue' });
    assertValueFits({ key, kind: input.kind }, defaultValue, 'defaultValue');
    const values = {
      kind: input.kind,
      description: input.description ?? '',
      default_value: JSON.stringify(defaultValue),
      rollout_basis_points: input.kind === 'rollout' ? Math.round(input.rolloutPercentage! * 100) : null,
      bucket_by: input.bucketBy ?? 'tenantId',
      tenant_editable: input.tenantEditable ?? false,
    } as const;
    return this.#change({ scope: 'platform' }, async (tx) => {
      const before = await findFlag(tx, key);
      if (before && before.kind !== input.kind) {
        throw new AppError('conflict', `flag "${key}" is a ${before.kind} flag; delete it and define it anew to change its kind`);
      }
      const row = before
        ? await tx.updateTable('flag_definitions').set({ ...values, updated_at: now }).where('key', '=', key).returningAll().executeTakeFirstOrThrow()
        : await tx.insertInto('flag_definitions').values({ key, ...values }).returningAll().executeTakeFirstOrThrow();
      const after = flagDefinitionFromRow(row);
      await recordPlatformAudit(tx, operator, {
        action: before ? 'flag.updated' : 'flag.created',
        target: `flag:${key}`,
        before: before ? flagDefinitionFromRow(before) : null,
        after,
      });
      return after;
    });
  }

  /** Deletes the flag with its plan defaults and every tenant's override of it. */
  async remove(operator: PlatformOperator, key: string): Promise<void> {
    await this.#change({ scope: 'platform' }, async (tx) => {
      const before = await requireFlag(tx, key);
      await tx.deleteFrom('flag_definitions').where('key', '=', key).execute();
      await recordPlatformAudit(tx, operator, { action: 'flag.deleted', target: `flag:${key}`, before, after: null });
    });
  }

  async setPlanDefault(operator: PlatformOperator, key: string, planKey: string, value: unknown): Promise<void> {
    const now = this.clock.now();
    await this.#change({ scope: 'platform' }, async (tx) => {
      const flag = await requireFlag(tx, key);
      assertValueFits(flag, value);
      const plan = await tx.selectFrom('plans').select('key').where('key', '=', planKey).executeTakeFirst();
      if (!plan) throw new AppError('not-found', `no plan "${planKey}"`);
      const before = await tx
        .selectFrom('flag_plan_defaults')
        .select('value')
        .where('flag_key', '=', key)
        .where('plan_key', '=', planKey)
        .executeTakeFirst();
      await tx
        .insertInto('flag_plan_defaults')
        .values({ flag_key: key, plan_key: planKey, value: JSON.stringify(value) })
        .onConflict((oc) => oc.columns(['flag_key', 'plan_key']).doUpdateSet({ value: JSON.stringify(value), updated_at: now }))
        .execute();
      await recordPlatformAudit(tx, operator, {
        action: 'flag_plan_default.set',
        target: `flag:${key}@plan:${planKey}`,
        before: before ? { value: before.value } : null,
        after: { value },
      });
    });
  }

  async removePlanDefault(operator: PlatformOperator, key: string, planKey: string): Promise<void> {
    await this.#change({ scope: 'platform' }, async (tx) => {
      const removed = await tx
        .deleteFrom('flag_plan_defaults')
        .where('flag_key', '=', key)
        .where('plan_key', '=', planKey)
        .returning('value')
        .executeTakeFirst();
      if (!removed) throw new AppError('not-found', `plan "${planKey}" has no default for "${key}"`);
      await recordPlatformAudit(tx, operator, {
        action: 'flag_plan_default.removed',
        target: `flag:${key}@plan:${planKey}`,
        before: { value: removed.value },
        after: null,
      });
    });
  }

  /** Any flag, editable by tenants or not: the operator's override for one tenant. */
  async setTenantOverride(operator: PlatformOperator, key: string, tenantId: string, value: unknown): Promise<void> {
    const now = this.clock.now();
    await this.#change({ scope: 'tenant', tenantId }, async (tx) => {
      const flag = await requireFlag(tx, key);
      assertValueFits(flag, value);
      const tenant = await tx.selectFrom('tenants').select('id').where('id', '=', tenantId).where('deleted_at', 'is', null).executeTakeFirst();
      if (!tenant) throw new AppError('not-found', 'no live tenant with this id');
      const before = await tx
        .selectFrom('flag_overrides')
        .select('value')
        .where('tenant_id', '=', tenantId)
        .where('flag_key', '=', key)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      await tx
        .insertInto('flag_overrides')
        .values({ tenant_id: tenantId, id: newId(), flag_key: key, value: JSON.stringify(value), created_by: actorLabel(operator) })
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'flag_key']).doUpdateSet({ value: JSON.stringify(value), updated_at: now, deleted_at: null }),
        )
        .execute();
      await unsafeRecordAuditForTenant(tx, tenantId, operator, {
        action: 'flag_override.set',
        target: `flag:${key}`,
        before: before ? { value: before.value } : null,
        after: { value },
      });
    });
  }

  async removeTenantOverride(operator: PlatformOperator, key: string, tenantId: string): Promise<void> {
    await this.#change({ scope: 'tenant', tenantId }, async (tx) => {
      const removed = await tx
        .deleteFrom('flag_overrides')
        .where('tenant_id', '=', tenantId)
        .where('flag_key', '=', key)
        .returning('value')
        .executeTakeFirst();
      if (!removed) throw new AppError('not-found', `this tenant has no override of "${key}"`);
      await unsafeRecordAuditForTenant(tx, tenantId, operator, {
        action: 'flag_override.removed',
        target: `flag:${key}`,
        before: { value: removed.value },
        after: null,
      });
    });
  }

  async #change<T>(event: CacheEvent, work: (tx: Tx) => Promise<T>): Promise<T> {
    const reason = event.scope === 'platform' ? 'platform admin: change flags' : 'platform admin: change a tenant flag override';
    return this.db.service(reason, async (tx) => {
      const value = await work(tx);
      await this.invalidation.record(tx, event);
      return value;
    });
  }
}
