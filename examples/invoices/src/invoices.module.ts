// The invoices module, declared the one way Tenantry knows: what it owns and what it needs.
// Registering it (createServices({ modules: [...platformModules, invoicesModule] })) is all
// it takes for its table to get both isolation layers, tenant deletion and purge; the
// declared policy is what tenant export and erasure will follow.

import { fileURLToPath } from 'node:url';
import { defineModule, tenancyModule } from 'tenantry';
import type { InvoiceTables } from './invoice-tables.js';
import { invoiceAlreadyVoid, invoicesRoutes, type InvoicesRouteDeps } from './invoices.routes.js';
import { markOverdueInvoicesJob } from './mark-overdue-job.js';

export const invoicesModule = defineModule({
  name: 'invoices',
  dependsOn: [tenancyModule],
  migrations: fileURLToPath(new URL('./migrations', import.meta.url)),
  // The customer's address is personal data: erasure replaces it with a stable pseudonym.
  tenantTables: [{ name: 'invoices', personal: { customer_email: 'pseudonymise' } }],
  jobs: [markOverdueInvoicesJob],
  // Its own error answers: the registry keeps their codes apart from Tenantry's and other modules'.
  problems: [invoiceAlreadyVoid],
  // The module's composition root: its routes get these, not all of Tenantry's services.
  compose: ({ db, clock, jobs }): InvoicesRouteDeps => ({ db: db.withTables<InvoiceTables>(), clock, jobs }),
  routes: invoicesRoutes,
});
