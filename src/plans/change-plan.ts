// A tenant's plan change: applied at once, audited in the same transaction, and announced
// so every instance drops the tenant's cached plan, flags and settings.

import { recordAudit } from '../audit/record-audit.js';
import type { CacheInvalidation } from '../cache/cache-invalidation.js';
import type { Clock } from '../clock.js';
import type { Database } from '../db/database.js';
import { AppError } from '../http/problems.js';
import type { Actor } from '../tenancy/actor.js';
import type { Plans } from './plans.js';

export class PlanChange {
  constructor(
    private readonly db: Database,
    private readonly plans: Plans,
    private readonly invalidation: CacheInvalidation,
    private readonly clock: Clock,
  ) {}

  async change(actor: Actor, planKey: string): Promise<{ plan: string; previousPlan: string }> {
    if (!(await this.plans.find(planKey))) {
      throw new AppError('validation-failed', `no plan "${planKey}"; GET /v1/plans lists them`, { field: 'plan' });
    }
    const { tenantId } = actor;
    const now = this.clock.now();
    return this.db.tenant(async (tx) => {
      const tenant = await tx
        .selectFrom('tenants')
        .select('plan')
        .where('id', '=', tenantId)
        .where('deleted_at', 'is', null)
        .forUpdate()
        .executeTakeFirst();
      if (!tenant) throw new AppError('tenant-not-found');
      if (tenant.plan !== planKey) {
        await tx.updateTable('tenants').set({ plan: planKey, updated_at: now }).where('id', '=', tenantId).execute();
        await recordAudit(tx, actor, { action: 'plan.changed', target: 'plan', before: { plan: tenant.plan }, after: { plan: planKey } });
        await this.invalidation.record(tx, { scope: 'tenant', tenantId });
      }
      return { plan: planKey, previousPlan: tenant.plan };
    });
  }
}
