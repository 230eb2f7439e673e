// Authentication: sign-in, sessions and refresh, and API keys.

import { defineModule, routePlugins } from '../modules/module.js';
import { tenancyModule } from '../tenancy/tenancy.module.js';
import { apiKeysRoutes } from './api-keys/api-keys.routes.js';
import { authRoutes } from './auth.routes.js';

export const authModule = defineModule({
  name: 'auth',
  dependsOn: [tenancyModule],
  tenantTables: [{ name: 'api_keys', secret: ['secret_hash'] }],
  // An API key is found by its public prefix before its tenant is known.
  identityLookups: [{ table: 'api_keys', column: 'prefix', by: 'apiKeyPrefix' }],
  routes: routePlugins(authRoutes, apiKeysRoutes),
});
