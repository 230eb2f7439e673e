// After the period-end job issues an invoice, its metered overage goes to the provider as meter
// events, one per metric and period. The ledger (billing_usage_reports) is written first, with
// the event's identifier derived from tenant, metric and period; a row is marked reported once
// the provider accepts it. A re-run sends only rows not marked, with the same identifier, so the
// provider counts each once: Stripe de-duplicates an identifier within 24 hours, and the ledger
// keeps a reported row from being sent again after that. What is reported is the overage of
// each issued invoice's lines (the quantity beyond what the plan includes): the Stripe Price
// of a meter is per unit, with nothing included.

import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import { newId } from '../../db/ids.js';
import type { BillingDatabase } from '../billing-tables.js';
import type { BillingProvider } from './billing-provider.js';
import { meterEventIdentifier } from './meter-event-identifier.js';

/** Ledger rows written, and events sent, per run; the next run continues. */
const BATCH = 500;

export interface UsageReportRun {
  readonly recorded: number;
  readonly sent: number;
  readonly failed: number;
}

export class UsageReporting {
  constructor(
    private readonly db: BillingDatabase,
    private readonly provider: BillingProvider,
    private readonly clock: Clock,
  ) {}

  async reportDue(logger: Logger): Promise<UsageReportRun> {
    if (this.provider.name === 'local') return { recorded: 0, sent: 0, failed: 0 };
    const recorded = await this.#recordLedger();
    let sent = 0;
    let failed = 0;
    for (const row of await this.#unreported()) {
      try {
        await this.provider.reportUsage({
          identifier: row.identifier,
          metric: row.metric,
          customerRef: row.customer_ref,
          quantity: Number(row.quantity),
          timestamp: new Date(row.period_end.getTime() - 1000),
        });
      } catch (error) {
        failed += 1;
        logger.warn({ err: error, tenantId: row.tenant_id, metric: row.metric, identifier: row.identifier }, 'usage report refused; the next run sends it again');
        continue;
      }
      await this.db.service('billing: mark usage reported', (tx) =>
        tx
          .updateTable('billing_usage_reports')
          .set({ reported_at: this.clock.now() })
          .where('tenant_id', '=', row.tenant_id)
          .where('id', '=', row.id)
          .where('reported_at', 'is', null)
          .execute(),
      );
      sent += 1;
    }
    return { recorded, sent, failed };
  }

  /** Ledger rows for the issued invoices' overage lines that have none yet. */
  #recordLedger(): Promise<number> {
    return this.db.service('billing: record usage to report', async (tx) => {
      const lines = await tx
        .selectFrom('billing_invoice_lines as l')
        .innerJoin('billing_invoices as i', (join) => join.onRef('i.tenant_id', '=', 'l.tenant_id').onRef('i.id', '=', 'l.invoice_id'))
        .innerJoin('billing_accounts as a', 'a.tenant_id', 'l.tenant_id')
        .leftJoin('billing_usage_reports as r', (join) =>
          join.onRef('r.tenant_id', '=', 'l.tenant_id').onRef('r.invoice_id', '=', 'l.invoice_id').onRef('r.metric', '=', 'l.metric'),
        )
        .select(['l.tenant_id', 'l.invoice_id', 'l.metric', 'l.quantity', 'i.period_start', 'i.period_end'])
        .where('a.provider', '=', 'stripe')
        .where('a.customer_ref', 'is not', null)
        .where('l.kind', '=', 'overage')
        .where('l.quantity', '>', '0')
        .where('i.status', 'in', ['open', 'paid'])
        .where('i.deleted_at', 'is', null)
        .where('r.id', 'is', null)
        .limit(BATCH)
        .execute();
      if (lines.length === 0) return 0;
      const inserted = await tx
        .insertInto('billing_usage_reports')
        .values(
          lines.map((line) => ({
            tenant_id: line.tenant_id,
            id: newId(),
            invoice_id: line.invoice_id,
            metric: line.metric!,
            period_start: line.period_start,
            period_end: line.period_end,
            quantity: Number(line.quantity),
            identifier: meterEventIdentifier(line.tenant_id, line.metric!, line.period_start),
          })),
        )
        .onConflict((conflict) => conflict.columns(['tenant_id', 'identifier']).doNothing())
        .returning('id')
        .execute();
      return inserted.length;
    });
  }

  #unreported() {
    return this.db.service('billing: read usage not yet reported', (tx) =>
      tx
        .selectFrom('billing_usage_reports as r')
        .innerJoin('billing_accounts as a', 'a.tenant_id', 'r.tenant_id')
        .select(['r.tenant_id', 'r.id', 'r.metric', 'r.quantity', 'r.identifier', 'r.period_end', 'a.customer_ref'])
        .where('r.reported_at', 'is', null)
        .where('r.deleted_at', 'is', null)
        .where('a.customer_ref', 'is not', null)
        .orderBy('r.created_at')
        .limit(BATCH)
        .execute()
        .then((rows) => rows.map((row) => ({ ...row, customer_ref: row.customer_ref! }))),
    );
  }
}
