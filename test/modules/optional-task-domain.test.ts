// A deployment without the sample task domain: its migrations create no task tables, its app
// has no task routes, and tenant deletion and purge walk only the tables that exist.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { platformModules } from '../../src/built-in-modules.js';
import { migrate, pendingMigrations } from '../../src/db/migrate.js';
import { bearer, expectProblem, signUp } from '../support/fixtures.js';
import { databaseUrl, TEST_LOGIN_PASSWORD, TEST_ROLES, TEST_SERVICE_LOGIN_PASSWORD } from '../support/roles.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const EMPTY_DATABASE = `tenantry_no_tasks_${process.pid}_${Date.now().toString(36)}`;
let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp({}, { modules: platformModules });
});

afterAll(async () => {
  await testApp?.close();
});

describe('migrating without the task domain', () => {
  it('creates no task table, and has nothing pending for the platform modules', async () => {
    const admin = new pg.Client({ connectionString: inject('adminUrl') });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${EMPTY_DATABASE}"`);
    try {
      const url = databaseUrl(inject('adminUrl'), EMPTY_DATABASE);
      const applied = await migrate({
        databaseUrl: url,
        roles: TEST_ROLES,
        modules: platformModules,
        loginPassword: TEST_LOGIN_PASSWORD,
        serviceLoginPassword: TEST_SERVICE_LOGIN_PASSWORD,
      });
      const platformNames = new Set(platformModules.map((module) => module.name));
      expect(applied.filter((name) => !platformNames.has(name.split('/')[0]!))).toEqual([]);
      expect(await pendingMigrations(url, platformModules)).toEqual([]);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query("SELECT to_regclass('public.tasks') AS tasks, to_regclass('public.projects') AS projects");
        expect(rows[0]).toEqual({ tasks: null, projects: null });
      } finally {
        await client.end();
      }
    } finally {
      await admin.query(`DROP DATABASE "${EMPTY_DATABASE}" WITH (FORCE)`);
      await admin.end();
    }
  });
});

describe('an app without the task domain', () => {
  it('has no task routes, and the rest of the platform works', async () => {
    const tenant = await signUp(testApp.app);
    expectProblem(await testApp.app.inject({ method: 'GET', url: '/v1/tasks', headers: bearer(tenant.accessToken) }), 404, 'route-not-found');
    const document = (await testApp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(document.paths).filter((path) => /projects|tasks/.test(path))).toEqual([]);
    expect((await testApp.app.inject({ method: 'GET', url: '/v1/api-keys', headers: bearer(tenant.accessToken) })).statusCode).toBe(200);
  });

  it('deletes a tenant across the tables it has', async () => {
    const tenant = await signUp(testApp.app);
    const deleted = await testApp.app.inject({ method: 'DELETE', url: '/v1/tenant', headers: bearer(tenant.accessToken), payload: { confirm: tenant.slug } });
    expect(deleted.statusCode, deleted.body).toBe(200);
    expect(testApp.services.modules.tenantTables.has('tasks')).toBe(false);
  });
});
