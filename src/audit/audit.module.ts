// The tenant's audit log: who changed what, readable by its admins.

import { defineModule } from '../modules/module.js';
import { tenancyModule } from '../tenancy/tenancy.module.js';
import { auditRoutes } from './audit.routes.js';

export const auditModule = defineModule({
  name: 'audit',
  dependsOn: [tenancyModule],
  tenantTables: [{ name: 'audit_log' }],
  compose: ({ db }) => ({ db }),
  routes: auditRoutes,
});
