// Creates the database roles idempotently and checks their attributes.
// The app role must never be able to read past row-level security: this file is where that starts.

import type pg from 'pg';
import type { DatabaseRoles } from '../config.js';

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

export class RoleSetupError extends Error {
  override name = 'RoleSetupError';
}

interface LoginUser {
  name: string;
  superuser: boolean;
}

async function loginUser(client: pg.ClientBase): Promise<LoginUser> {
  const { rows } = await client.query<{ name: string; superuser: boolean }>(
    'SELECT current_user AS name, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user',
  );
  return rows[0]!;
}

async function roleExists(client: pg.ClientBase, name: string): Promise<boolean> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
  return rowCount === 1;
}

/**
 * Makes sure owner, app and service roles exist with the right attributes, and that the
 * login user may switch to each. As superuser it creates them; as a plain owner login it
 * only verifies, and names the statements a DBA has to run.
 */
export async function ensureRoles(
  client: pg.ClientBase,
  roles: DatabaseRoles,
  options: { loginPassword?: string | undefined; serviceLoginPassword?: string | undefined } = {},
): Promise<void> {
  const me = await loginUser(client);
  if (me.superuser) {
    // Serialise concurrent boots (two instances, parallel test workers) on one cluster.
    await client.query('SELECT pg_advisory_lock(hashtext($1))', ['tenantry.ensure_roles']);
    try {
      const attributes: Array<[string, string]> = [
        [roles.owner, 'NOLOGIN NOSUPERUSER NOBYPASSRLS'],
        // LOGIN: a distributed PostgreSQL (Citus) opens worker connections as this role.
        [roles.app, 'LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION'],
        [roles.service, 'NOLOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION'],
        // NOINHERIT: membership lets each login switch to its one role, never act as it.
        [roles.login, 'LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION'],
        [roles.serviceLogin, 'LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION'],
      ];
      for (const [name, attrs] of attributes) {
        const verb = (await roleExists(client, name)) ? 'ALTER' : 'CREATE';
        await client.query(`${verb} ROLE ${ident(name)} ${attrs}`);
      }
      // Requests must never reach BYPASSRLS: the request login is a member of app alone (older
      // deployments granted it service too), and service work logs in separately.
      await client.query(`GRANT ${ident(roles.app)} TO ${ident(roles.login)}`);
      await client.query(`REVOKE ${ident(roles.service)} FROM ${ident(roles.login)}`);
      await client.query(`GRANT ${ident(roles.service)} TO ${ident(roles.serviceLogin)}`);
      const passwords: Array<[string, string | undefined]> = [
        [roles.login, options.loginPassword],
        [roles.serviceLogin, options.serviceLoginPassword],
      ];
      for (const [name, password] of passwords) {
        if (password) await client.query(`ALTER ROLE ${ident(name)} PASSWORD ${client.escapeLiteral(password)}`);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', ['tenantry.ensure_roles']);
    }
    const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
    await client.query(`GRANT CONNECT, CREATE ON DATABASE ${ident(rows[0]!.db)} TO ${ident(roles.owner)}`);
    await client.query(
      `GRANT CONNECT ON DATABASE ${ident(rows[0]!.db)} TO ${[roles.app, roles.service, roles.login, roles.serviceLogin].map(ident).join(', ')}`,
    );
    await client.query(`GRANT USAGE, CREATE ON SCHEMA public TO ${ident(roles.owner)}`);
    await client.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    return;
  }
  const missing = [];
  for (const name of [roles.owner, roles.app, roles.service]) {
    const { rows } = await client.query<{ ok: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AND pg_has_role(current_user, $1, 'MEMBER') AS ok`,
      [name],
    ).catch(() => ({ rows: [{ ok: false }] }));
    if (!rows[0]?.ok) missing.push(name);
  }
  if (missing.length > 0) {
    throw new RoleSetupError(
      `login user "${me.name}" is not a superuser and cannot use role(s) ${missing.join(', ')}. ` +
        `As a superuser run: CREATE ROLE ${ident(roles.app)} LOGIN NOSUPERUSER NOBYPASSRLS; ` +
        `CREATE ROLE ${ident(roles.service)} NOLOGIN BYPASSRLS; ` +
        `GRANT ${[roles.owner, roles.app, roles.service].filter((r) => r !== me.name).map(ident).join(', ')} TO ${ident(me.name)}; ` +
        `and for the server's connections: CREATE ROLE ${ident(roles.login)} LOGIN NOINHERIT IN ROLE ${ident(roles.app)}; ` +
        `CREATE ROLE ${ident(roles.serviceLogin)} LOGIN NOINHERIT IN ROLE ${ident(roles.service)};`,
    );
  }
}
