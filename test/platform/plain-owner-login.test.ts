// An external PostgreSQL whose login user is a plain owner role, not a superuser: with the
// app and service roles granted to it by a DBA, migrations run and the app serves requests;
// without them, start-up fails naming the statements to run.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createPool } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { RoleSetupError } from '../../src/db/roles.js';
import { migrateQueue } from '../../src/jobs/migrate-queue.js';
import { createServices } from '../../src/services.js';
import { TestClock, TEST_JWT_SECRET } from '../support/test-app.js';
import { bearer, signUp } from '../support/fixtures.js';
import { databaseUrl, TEST_ROLES } from '../support/roles.js';
import { TEST_MODULES } from '../support/modules.js';

const suffix = randomBytes(4).toString('hex');
const owner = `plain_owner_${suffix}`;
const database = `tenantry_plain_${suffix}`;
const password = randomBytes(12).toString('hex');
const silent = pino({ level: 'silent' });
let superuser: pg.Client;
let ownerUrl: string;

beforeAll(async () => {
  superuser = new pg.Client({ connectionString: inject('adminUrl') });
  await superuser.connect();
  // What a DBA does once: a login role that owns the database and may become app and service.
  await superuser.query(`CREATE ROLE ${owner} LOGIN PASSWORD '${password}' NOSUPERUSER NOBYPASSRLS`);
  await superuser.query(`CREATE DATABASE ${database} OWNER ${owner}`);
  const url = new URL(databaseUrl(inject('adminUrl'), database));
  url.username = owner;
  url.password = password;
  ownerUrl = url.toString();
});

afterAll(async () => {
  await superuser.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await superuser.query(`DROP ROLE IF EXISTS ${owner}`);
  await superuser.end();
});

const roles = { ...TEST_ROLES, owner };

describe('a plain owner login', () => {
  it('is refused, with the statements a DBA must run, until it may use the app and service roles', async () => {
    const error = await migrate({ modules: TEST_MODULES, databaseUrl: ownerUrl, roles }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RoleSetupError);
    expect(String((error as Error).message)).toContain(`GRANT "${TEST_ROLES.app}", "${TEST_ROLES.service}" TO "${owner}"`);
  });

  it('migrates and serves tenants once the roles are granted', async () => {
    await superuser.query(`GRANT ${TEST_ROLES.app}, ${TEST_ROLES.service} TO ${owner}`);
    const applied = await migrate({ modules: TEST_MODULES, databaseUrl: ownerUrl, roles });
    expect(applied.length).toBeGreaterThan(0);
    // The first run installs the queue's schema, and says so (a server warns when it had to); the next finds it.
    expect(await migrateQueue(ownerUrl, roles, silent)).toEqual({ installed: true });
    expect(await migrateQueue(ownerUrl, roles, silent)).toEqual({ installed: false });

    const check = new pg.Client({ connectionString: ownerUrl });
    await check.connect();
    const { rows } = await check.query(`SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'`);
    await check.end();
    expect(rows).toEqual([{ tableowner: owner }]);

    const config = loadConfig({ TENANTRY_JWT_SECRET: TEST_JWT_SECRET, DATABASE_URL: ownerUrl, TENANTRY_DB_OWNER_ROLE: owner, TENANTRY_MAX_EVENT_LOOP_DELAY_MS: '0' });
    const pool = createPool(ownerUrl, 4, silent);
    const services = createServices({ modules: TEST_MODULES, config, jwt: config.jwt!, pool, clock: new TestClock(), logger: silent });
    const app = await buildApp(services);
    try {
      // The mailbox is the platform's (RLS keeps the owner login out): read it as the superuser.
      const mailbox = new pg.Client({ connectionString: databaseUrl(inject('adminUrl'), database) });
      await mailbox.connect();
      const tenant = await signUp(app, {}, mailbox).finally(() => mailbox.end());
      const members = await app.inject({ method: 'GET', url: '/v1/members', headers: bearer(tenant.accessToken) });
      expect(members.statusCode).toBe(200);
      expect(members.json().data).toHaveLength(1);
    } finally {
      await app.close();
      await pool.end();
    }
  });
});
