// GET /v1/me: the signed-in user and every tenant they belong to, with their role in each.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addExistingMember, bearer, expectProblem, login, signUp } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.close();
});

describe('GET /v1/me', () => {
  it('lists every membership of the user, with its role', async () => {
    const first = await signUp(testApp.app);
    const second = await signUp(testApp.app, { email: first.email, password: first.password });
    const other = await signUp(testApp.app);
    await addExistingMember(testApp.app, other.accessToken, first, 'viewer');

    const { accessToken } = (await login(testApp.app, first.email, first.password, second.slug)).json();
    const response = await testApp.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(accessToken) });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.user).toMatchObject({ id: first.userId, email: first.email, status: 'active' });
    expect(body.user).not.toHaveProperty('password_hash');
    expect(body.activeTenantId).toBe(second.tenantId);
    expect(body.memberships).toEqual([
      { tenantId: first.tenantId, slug: first.slug, name: `Tenant ${first.slug}`, role: 'owner', status: 'active' },
      { tenantId: second.tenantId, slug: second.slug, name: `Tenant ${second.slug}`, role: 'owner', status: 'active' },
      { tenantId: other.tenantId, slug: other.slug, name: `Tenant ${other.slug}`, role: 'viewer', status: 'active' },
    ]);
  });

  it('leaves out a tenant the user was removed from', async () => {
    const owner = await signUp(testApp.app);
    const member = await signUp(testApp.app);
    await addExistingMember(testApp.app, owner.accessToken, member, 'member');
    const removed = await testApp.app.inject({ method: 'DELETE', url: `/v1/members/${member.userId}`, headers: bearer(owner.accessToken) });
    expect(removed.statusCode).toBe(204);
    const body = (await testApp.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(member.accessToken) })).json();
    expect(body.memberships.map((m: { tenantId: string }) => m.tenantId)).toEqual([member.tenantId]);
  });

  it('returns 403 for an API key, which is not a person', async () => {
    const tenant = await signUp(testApp.app);
    expectProblem(await testApp.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(tenant.apiKey) }), 403, 'forbidden');
  });

  it('returns 401 without a credential', async () => {
    expectProblem(await testApp.app.inject({ method: 'GET', url: '/v1/me' }), 401, 'unauthenticated');
  });
});
