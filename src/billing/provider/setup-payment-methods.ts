// The second half of a completed Checkout: the webhook recorded its SetupIntent on the tenant's
// billing account (in the event's transaction); here, outside any transaction, the payment
// method it saved becomes the one the provider charges, and the record is cleared. A run that
// fails (a provider outage) leaves the record for the next run; the provider calls are updates,
// so repeating one changes nothing.

import type { Logger } from 'pino';
import type { BillingDatabase } from '../billing-tables.js';
import { UnusableSetup, type BillingProvider } from './billing-provider.js';

/** Accounts handled per run; the next run continues. */
const BATCH = 100;

export class SetupPaymentMethods {
  constructor(
    private readonly db: BillingDatabase,
    private readonly provider: BillingProvider,
  ) {}

  /** Promotes every recorded payment method; answers how many were. One failing does not stop the rest. */
  async applyPending(logger: Logger): Promise<number> {
    if (this.provider.name === 'local') return 0;
    const pending = await this.db.service('billing: find payment methods to make the default', (tx) =>
      tx
        .selectFrom('billing_accounts')
        .select(['tenant_id', 'customer_ref', 'subscription_ref', 'payment_method_setup_ref'])
        .where('payment_method_setup_ref', 'is not', null)
        .where('deleted_at', 'is', null)
        .limit(BATCH)
        .execute(),
    );
    let applied = 0;
    for (const account of pending) {
      const setupRef = account.payment_method_setup_ref!;
      try {
        await this.provider.useSetupPaymentMethod(
          { tenantId: account.tenant_id, customerRef: account.customer_ref, subscriptionRef: account.subscription_ref },
          setupRef,
        );
        applied += 1;
      } catch (error) {
        if (!(error instanceof UnusableSetup)) {
          logger.warn({ err: error, tenantId: account.tenant_id }, 'making the Checkout payment method the default failed; the next run retries');
          continue;
        }
        // Trying again would fail the same way: dropped, and said so once.
        logger.warn({ err: error, tenantId: account.tenant_id }, 'a completed Checkout saved no payment method this tenant can use; dropped');
      }
      await this.#clear(account.tenant_id, setupRef);
    }
    return applied;
  }

  /** Clears the record unless a newer Checkout replaced it meanwhile. */
  async #clear(tenantId: string, setupRef: string): Promise<void> {
    await this.db.service('billing: clear a promoted payment method', (tx) =>
      tx
        .updateTable('billing_accounts')
        .set({ payment_method_setup_ref: null })
        .where('tenant_id', '=', tenantId)
        .where('payment_method_setup_ref', '=', setupRef)
        .execute(),
    );
  }
}
