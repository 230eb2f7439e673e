// A tenant's billing account row: created on first need (provisioning, or the first payment
// event of a tenant that predates billing), one per tenant.

import { newId } from '../db/ids.js';
import type { BillingProviderName } from './billing-tables.js';
import type { BillingTx } from './billing-tables.js';

/** In a service unit: the account exists afterwards; an existing one is left as it is. */
export async function ensureBillingAccount(tx: BillingTx, tenantId: string, provider: BillingProviderName = 'local'): Promise<void> {
  await tx
    .insertInto('billing_accounts')
    .values({ tenant_id: tenantId, id: newId(), provider })
    .onConflict((conflict) => conflict.column('tenant_id').doNothing())
    .execute();
}
