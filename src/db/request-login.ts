// Refuses to serve requests through a login that could read past row-level security: a
// superuser, a BYPASSRLS role, or one that may switch to the service role.

import type pg from 'pg';
import type { DatabaseRoles } from '../config.js';

export class UnsafeRequestLoginError extends Error {
  override name = 'UnsafeRequestLoginError';
}

/**
 * Checks the login the request pool connects as. Every tenant transaction switches to the app
 * role, but SQL inside one could switch back or onward to whatever the login may reach.
 */
export async function assertRequestLoginConfined(pool: pg.Pool, roles: DatabaseRoles): Promise<void> {
  const { rows } = await pool.query<{ login: string; superuser: boolean; bypassrls: boolean; reaches_service: boolean }>(
    `SELECT current_user AS login, rolsuper AS superuser, rolbypassrls AS bypassrls,
            pg_has_role(current_user, $1, 'MEMBER') AS reaches_service
       FROM pg_roles WHERE rolname = current_user`,
    [roles.service],
  );
  const login = rows[0];
  if (!login) throw new UnsafeRequestLoginError('could not read the attributes of the request login');
  const reasons = [
    login.superuser && 'is a superuser',
    login.bypassrls && 'has BYPASSRLS',
    login.reaches_service && `may switch to the service role "${roles.service}"`,
  ].filter(Boolean);
  if (reasons.length === 0) return;
  throw new UnsafeRequestLoginError(
    `request connections log in as "${login.login}", which ${reasons.join(' and ')}: SQL inside a tenant transaction ` +
      `could read every tenant's rows. Point TENANTRY_APP_DATABASE_URL at the login role "${roles.login}" ` +
      `(created by \`tenantry migrate\`; give it a password with ALTER ROLE ${roles.login} PASSWORD '...').`,
  );
}
