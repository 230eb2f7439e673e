// POST /v1/auth/logout: ends the session family of the bearer token and/or of a refresh
// token. Afterwards neither the access token nor the refresh token is accepted.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, login, signUp } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.close();
});

function logout(headers: Record<string, string>, payload?: Record<string, string>) {
  return testApp.app.inject({ method: 'POST', url: '/v1/auth/logout', headers, ...(payload ? { payload } : {}) });
}

function refresh(refreshToken: string) {
  return testApp.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } });
}

async function expectSignedOut(accessToken: string, refreshToken: string) {
  expectProblem(await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(accessToken) }), 401, 'invalid-credentials');
  expectProblem(await testApp.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(accessToken) }), 401, 'invalid-credentials');
  expectProblem(await refresh(refreshToken), 401, 'invalid-credentials');
}

describe('logging out', () => {
  it('with the bearer token makes both the access and the refresh token answer 401', async () => {
    const tenant = await signUp(testApp.app);
    const response = await logout(bearer(tenant.accessToken));
    expect(response.statusCode).toBe(204);
    await expectSignedOut(tenant.accessToken, tenant.refreshToken);
  });

  it('with only the refresh token makes both tokens answer 401', async () => {
    const tenant = await signUp(testApp.app);
    expect((await logout({}, { refreshToken: tenant.refreshToken })).statusCode).toBe(204);
    await expectSignedOut(tenant.accessToken, tenant.refreshToken);
  });

  it('also ends tokens the family had rotated into', async () => {
    const tenant = await signUp(testApp.app);
    const rotated = (await refresh(tenant.refreshToken)).json();
    expect((await logout(bearer(tenant.accessToken))).statusCode).toBe(204);
    await expectSignedOut(rotated.accessToken, rotated.refreshToken);
  });

  it('leaves the same user\'s other sessions signed in', async () => {
    const tenant = await signUp(testApp.app);
    const other = (await login(testApp.app, tenant.email, tenant.password)).json();
    expect((await logout(bearer(tenant.accessToken))).statusCode).toBe(204);
    expect((await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(other.accessToken) })).statusCode).toBe(200);
    expect((await refresh(other.refreshToken)).statusCode).toBe(200);
  });

  it('returns 401 when neither a bearer token nor a refresh token is sent', async () => {
    expectProblem(await logout({}), 401, 'unauthenticated');
  });

  it('returns 401 for a forged bearer token, with an RFC 6750 challenge', async () => {
    const response = await logout(bearer('eyJhbGciOiJIUzI1NiJ9.e30.forged'));
    expectProblem(response, 401, 'invalid-credentials');
    expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="tenantry", error="invalid_token"/);
  });

  it('returns 403 to an API key, saying how keys are revoked, and the key and a refresh token sent with it keep working', async () => {
    const tenant = await signUp(testApp.app);
    const created = await testApp.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(tenant.accessToken), payload: { name: 'ci' } });
    const key = created.json().key as string;
    const response = await logout(bearer(key), { refreshToken: tenant.refreshToken });
    expect(expectProblem(response, 403, 'forbidden').detail).toMatch(/DELETE \/v1\/api-keys\/\{id\}/);
    expect((await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(key) })).statusCode).toBe(200);
    expect((await refresh(tenant.refreshToken)).statusCode).toBe(200);
  });
});
