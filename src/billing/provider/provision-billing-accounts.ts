// Opens each tenant's account with the provider, in the background: sign-up commits without
// waiting on Stripe, and `billing-provision-accounts` (every minute) picks up every live tenant
// with no provider customer yet. The provider call happens outside any transaction; its
// references are stored after it. A run that dies between the two, or two instances running at
// once, call the provider again with the same idempotency keys (derived from the tenant) and get
// the same customer back, so a retried provisioning never creates two. Stripe keeps those keys
// 24 hours; the stored references are what protect a tenant after that.

import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import { newId } from '../../db/ids.js';
import type { BillingDatabase } from '../billing-tables.js';
import type { BillingProvider, ProviderRefs } from './billing-provider.js';

/** Tenants provisioned per run; the next run continues. */
const BATCH = 100;

export class BillingAccountProvisioning {
  constructor(
    private readonly db: BillingDatabase,
    private readonly provider: BillingProvider,
    private readonly clock: Clock,
  ) {}

  /** Provisions the tenants that lack a provider customer; one failing is logged, the rest go on. */
  async provisionPending(logger: Logger): Promise<number> {
    if (this.provider.name === 'local') return 0;
    const pending = await this.db.service('billing: find tenants without a provider account', (tx) =>
      tx
        .selectFrom('tenants as t')
        .leftJoin('billing_accounts as b', 'b.tenant_id', 't.id')
        .select('t.id')
        .where('t.deleted_at', 'is', null)
        .where('t.status', '!=', 'deleted')
        .where('b.customer_ref', 'is', null)
        .orderBy('t.created_at')
        .limit(BATCH)
        .execute(),
    );
    let provisioned = 0;
    for (const { id } of pending) {
      try {
        await this.provisionTenant(id);
        provisioned += 1;
      } catch (error) {
        logger.warn({ err: error, tenantId: id }, 'billing provisioning failed; the next run retries');
      }
    }
    return provisioned;
  }

  /** One tenant: the provider's references, created or found again, stored on its account. */
  async provisionTenant(tenantId: string): Promise<ProviderRefs> {
    const tenant = await this.db.service('billing: read a tenant to provision', (tx) =>
      tx
        .selectFrom('tenants as t')
        .leftJoin('billing_accounts as b', 'b.tenant_id', 't.id')
        .select(['t.plan', 'b.customer_ref', 'b.subscription_ref'])
        .where('t.id', '=', tenantId)
        .executeTakeFirstOrThrow(),
    );
    if (tenant.customer_ref) return { customerRef: tenant.customer_ref, subscriptionRef: tenant.subscription_ref };
    const refs = await this.provider.provision({ tenantId, plan: tenant.plan });
    await this.db.service('billing: store a tenant\'s provider account', (tx) =>
      tx
        .insertInto('billing_accounts')
        .values({ tenant_id: tenantId, id: newId(), provider: this.provider.name, customer_ref: refs.customerRef, subscription_ref: refs.subscriptionRef })
        .onConflict((conflict) =>
          conflict.column('tenant_id').doUpdateSet((eb) => ({
            provider: this.provider.name,
            customer_ref: eb.fn.coalesce('billing_accounts.customer_ref', 'excluded.customer_ref'),
            subscription_ref: eb.fn.coalesce('billing_accounts.subscription_ref', 'excluded.subscription_ref'),
            updated_at: this.clock.now(),
          })),
        )
        .execute(),
    );
    return refs;
  }
}
