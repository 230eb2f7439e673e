// Authentication: credentials (refresh sessions, API keys) and how a request proves who it is.

import { defineModule, routePlugins } from '../modules/module.js';
import { platformModule } from '../platform/platform.module.js';
import { apiKeysRoutes } from './api-keys/api-keys.routes.js';
import { ApiKeyManagement } from './api-keys/manage-api-keys.js';
import { authRoutes, type AuthRouteDeps } from './auth.routes.js';

interface AuthModuleDeps extends AuthRouteDeps {
  readonly apiKeys: ApiKeyManagement;
}

export const authModule = defineModule({
  name: 'auth',
  dependsOn: [platformModule],
  // Erasing the creator revokes the key first (a live key must have one), then forgets them.
  tenantTables: [{ name: 'api_keys', secret: ['secret_hash'], identifies: { created_by: 'user_id' }, personal: { created_by: 'null' } }],
  // An API key is found by its public prefix before its tenant is known.
  identityLookups: [{ table: 'api_keys', column: 'prefix', by: 'apiKeyPrefix' }],
  compose: ({ db, clock, sessions, authenticator, credentialThrottle, metering }): AuthModuleDeps => ({
    sessions,
    authenticator,
    credentialThrottle,
    apiKeys: new ApiKeyManagement(db, clock, metering.actions),
  }),
  routes: routePlugins<AuthModuleDeps>(authRoutes, apiKeysRoutes),
});
