// Tenant overrides of flags: tenant admins set them for tenant-editable flags only, inside
// their own tenant scope; each change is audited and evicted on every instance.

import { recordAudit } from '../audit/record-audit.js';
import type { CacheInvalidation } from '../cache/cache-invalidation.js';
import type { Clock } from '../clock.js';
import type { Database, Tx } from '../db/database.js';
import { newId } from '../db/ids.js';
import { AppError } from '../http/problems.js';
import type { PlatformCatalog } from '../plans/platform-catalog.js';
import { actorLabel, type Actor } from '../tenancy/actor.js';
import type { FlagDefinition } from './flag.js';
import { assertValueFits } from './flag-values.js';

function existingOverride(tx: Tx, flagKey: string) {
  return tx
    .selectFrom('flag_overrides')
    .select(['id', 'value'])
    .where('flag_key', '=', flagKey)
    .where('deleted_at', 'is', null)
    .forUpdate()
    .executeTakeFirst();
}

export class OverrideManagement {
  constructor(
    private readonly db: Database,
    private readonly catalog: PlatformCatalog,
    private readonly invalidation: CacheInvalidation,
    private readonly clock: Clock,
  ) {}

  async set(actor: Actor, flagKey: string, value: unknown): Promise<void> {
    const flag = await this.#editableFlag(flagKey);
    assertValueFits(flag, value);
    const { tenantId } = actor;
    const now = this.clock.now();
    await this.db.tenant(async (tx) => {
      const before = await existingOverride(tx, flagKey);
      await tx
        .insertInto('flag_overrides')
        .values({ id: newId(), flag_key: flagKey, value: JSON.stringify(value), created_by: actorLabel(actor) })
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'flag_key']).doUpdateSet({ value: JSON.stringify(value), updated_at: now, deleted_at: null }),
        )
        .execute();
      await recordAudit(tx, actor, { action: 'flag_override.set', target: `flag:${flagKey}`, before: before ? { value: before.value } : null, after: { value } });
      await this.invalidation.record(tx, { scope: 'tenant', tenantId });
    });
  }

  async remove(actor: Actor, flagKey: string): Promise<void> {
    await this.#editableFlag(flagKey);
    const { tenantId } = actor;
    await this.db.tenant(async (tx) => {
      const before = await existingOverride(tx, flagKey);
      if (!before) throw new AppError('not-found', `this tenant has no override of "${flagKey}"`);
      await tx.deleteFrom('flag_overrides').where('id', '=', before.id).execute();
      await recordAudit(tx, actor, { action: 'flag_override.removed', target: `flag:${flagKey}`, before: { value: before.value }, after: null });
      await this.invalidation.record(tx, { scope: 'tenant', tenantId });
    });
  }

  async #editableFlag(flagKey: string): Promise<FlagDefinition> {
    const flag = (await this.catalog.snapshot()).flagByKey.get(flagKey);
    if (!flag) throw new AppError('not-found', `no flag "${flagKey}"`);
    if (!flag.tenantEditable) throw new AppError('forbidden', `flag "${flagKey}" is not tenant-editable; the platform operator sets it`);
    return flag;
  }
}
