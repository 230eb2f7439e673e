// Tenant status is part of authorization: a suspended tenant is read-only to its members and
// its API keys (its writes answer 423 tenant-read-only, refused by PostgreSQL); past_due keeps working.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signUp } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.close();
});

describe('a suspended tenant', () => {
  it('is read-only to its members and its API keys', async () => {
    const tenant = await signUp(testApp.app);
    await testApp.database.admin.query(`UPDATE tenants SET status = 'suspended' WHERE id = $1`, [tenant.tenantId]);
    const byUser = await testApp.app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: bearer(tenant.accessToken),
      payload: { name: 'written while suspended' },
    });
    const byKey = await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(tenant.apiKey) });
    expect({ user: byUser.statusCode, key: byKey.statusCode }).toEqual({ user: 423, key: 200 });
    expect(byUser.json()).toMatchObject({ type: 'https://tenantry.dev/problems/tenant-read-only', tenant_status: 'suspended' });
    const { rowCount } = await testApp.database.admin.query(`SELECT 1 FROM projects WHERE tenant_id = $1`, [tenant.tenantId]);
    expect(rowCount).toBe(0);
  });
});

describe('a past_due tenant', () => {
  it('keeps working while billing catches up', async () => {
    const tenant = await signUp(testApp.app);
    await testApp.database.admin.query(`UPDATE tenants SET status = 'past_due' WHERE id = $1`, [tenant.tenantId]);
    const response = await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(tenant.accessToken) });
    expect(response.statusCode).toBe(200);
  });
});
