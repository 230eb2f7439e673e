// An API key acts for the user who created it: it dies when they leave the tenant and
// never outranks their current role, so an offboarded admin's key stops working at once.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNewMember, bearer, signUp } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.close();
});

describe('an admin API key whose creator has been removed from the tenant', () => {
  it('stops working (or at least loses the admin role)', async () => {
    const tenant = await signUp(testApp.app);
    const inject = testApp.app.inject.bind(testApp.app);
    const { userId, accessToken: adminToken } = await addNewMember(testApp.app, tenant.accessToken, 'admin', { name: 'Soon Gone' });
    const created = await inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(adminToken), payload: { name: 'laptop', role: 'admin' } });
    expect(created.statusCode).toBe(201);
    const key = created.json().key;

    const removed = await inject({ method: 'DELETE', url: `/v1/members/${userId}`, headers: bearer(tenant.accessToken) });
    expect(removed.statusCode).toBe(204);

    const stillAdmin = await inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(key), payload: { name: 'backdoor', role: 'admin' } });
    expect(stillAdmin.statusCode).not.toBe(201);
  });
});
