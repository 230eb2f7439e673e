// POST /v1/auth/switch-tenant: a signed-in user moves their session to another tenant
// they belong to, and only to one they belong to.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, jwtClaims, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;
let first: SignedUpTenant;
let second: SignedUpTenant;
let stranger: SignedUpTenant;

beforeAll(async () => {
  testApp = await startTestApp();
  first = await signUp(testApp.app);
  second = await signUp(testApp.app, { email: first.email, password: first.password });
  stranger = await signUp(testApp.app);
});

afterAll(async () => {
  await testApp.close();
});

function switchTenant(token: string, tenant: string) {
  return testApp.app.inject({ method: 'POST', url: '/v1/auth/switch-tenant', headers: bearer(token), payload: { tenant } });
}

describe('switching tenant', () => {
  it('issues a token for another tenant the user belongs to', async () => {
    const response = await switchTenant(first.accessToken, second.slug);
    expect(response.statusCode).toBe(200);
    const { accessToken, refreshToken } = response.json();
    expect(jwtClaims(accessToken)).toMatchObject({ sub: first.userId, tenant_id: second.tenantId });
    const listed = await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(accessToken) });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().data).toEqual([expect.objectContaining({ userId: first.userId, role: 'owner' })]);
    const refreshed = await testApp.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } });
    expect(jwtClaims(refreshed.json().accessToken)).toMatchObject({ tenant_id: second.tenantId });
  });

  it('accepts the tenant id as well as the slug', async () => {
    const response = await switchTenant(second.accessToken, first.tenantId);
    expect(jwtClaims(response.json().accessToken)).toMatchObject({ tenant_id: first.tenantId });
  });

  it('returns 403 not-a-member for a tenant the user does not belong to', async () => {
    expectProblem(await switchTenant(first.accessToken, stranger.slug), 403, 'not-a-member');
    expectProblem(await switchTenant(first.accessToken, stranger.tenantId), 403, 'not-a-member');
  });

  it('returns 403 for an API key, which belongs to one tenant for good', async () => {
    expectProblem(await switchTenant(first.apiKey, second.slug), 403, 'forbidden');
  });

  it('returns 401 without a credential', async () => {
    const response = await testApp.app.inject({ method: 'POST', url: '/v1/auth/switch-tenant', payload: { tenant: second.slug } });
    expectProblem(response, 401, 'unauthenticated');
  });
});
