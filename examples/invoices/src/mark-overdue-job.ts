// A tenant job: marks the tenant's open invoices past their due date overdue. Tenantry runs it
// inside the tenant it was enqueued for, so the handler's unit of work is that tenant's alone.

import { Type } from 'typebox';
import { defineTenantJob } from 'tenantry';
import type { InvoiceTables } from './invoice-tables.js';
import { markOverdue } from './invoice-repository.js';

export const markOverdueInvoicesJob = defineTenantJob({
  name: 'mark-overdue-invoices',
  payload: Type.Object({}, { additionalProperties: false }),
  handler: async (_data, { db, clock }, run) => {
    const marked = await db.withTables<InvoiceTables>().tenant((tx) => markOverdue(tx, clock.now()));
    run.logger.info({ marked }, 'overdue invoices marked');
  },
});
