// Role names the test suite uses (cluster-wide, shared by every test database), and a
// helper to point a connection string at another database.

import type { DatabaseRoles } from '../../src/config.js';

export const TEST_ROLES: DatabaseRoles = Object.freeze({
  owner: 'tenantry_owner',
  app: 'tenantry_app',
  service: 'tenantry_service',
  login: 'tenantry_login',
  serviceLogin: 'tenantry_service_login',
});

/** The login roles' passwords on the test cluster (set by the global setup). */
export const TEST_LOGIN_PASSWORD = 'tenantry-test-login-password';
export const TEST_SERVICE_LOGIN_PASSWORD = 'tenantry-test-service-login-password';

export function databaseUrl(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = '/' + database;
  return url.toString();
}
