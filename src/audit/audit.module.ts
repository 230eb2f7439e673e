// The tenant's audit log: who changed what, readable by its admins.

import { defineModule } from '../modules/module.js';
import { tenancyModule } from '../tenancy/tenancy.module.js';
import { auditRoutes } from './audit.routes.js';

export const auditModule = defineModule({
  name: 'audit',
  dependsOn: [tenancyModule],
  // Erasure keeps the action and forgets the person: actor and target become a pseudonym,
  // before/after go where they mention the person.
  tenantTables: [
    {
      name: 'audit_log',
      identifies: { actor: 'actor', target: 'actor' },
      personal: { actor: 'pseudonymise', target: 'pseudonymise', before: 'null', after: 'null' },
    },
  ],
  compose: ({ db }) => ({ db }),
  routes: auditRoutes,
});
