// A module declared in a test, the way an adopter declares one: its own migration and one tenant
// table with a secret column and personal columns. The privacy code never names it.

import { fileURLToPath } from 'node:url';
import { defineModule } from '../../../src/modules/module.js';
import { tenancyModule } from '../../../src/tenancy/tenancy.module.js';

export const contractsModule = defineModule({
  name: 'contracts',
  dependsOn: [tenancyModule],
  migrations: fileURLToPath(new URL('./contracts-migrations', import.meta.url)),
  tenantTables: [
    {
      name: 'contracts',
      secret: ['token_hash'],
      identifies: { signer_email: 'email', signer_id: 'user_id' },
      personal: { signer_email: 'pseudonymise', signer_id: 'null' },
    },
  ],
});
