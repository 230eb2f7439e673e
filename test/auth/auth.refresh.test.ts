// POST /v1/auth/refresh: a refresh token is single-use. Exchanging it rotates the pair;
// replaying a rotated token revokes its whole family. Access tokens expire on the clock.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, jwtClaims, signUp } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.close();
});

function refresh(refreshToken: string) {
  return testApp.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } });
}

function members(accessToken: string) {
  return testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(accessToken) });
}

describe('refreshing', () => {
  it('returns a new token pair for the same user and tenant', async () => {
    const tenant = await signUp(testApp.app);
    const response = await refresh(tenant.refreshToken);
    expect(response.statusCode).toBe(200);
    const pair = response.json();
    expect(pair.refreshToken).not.toBe(tenant.refreshToken);
    expect(jwtClaims(pair.accessToken)).toMatchObject({ sub: tenant.userId, tenant_id: tenant.tenantId });
    expect((await members(pair.accessToken)).statusCode).toBe(200);
  });

  it('retires the old refresh token', async () => {
    const tenant = await signUp(testApp.app);
    expect((await refresh(tenant.refreshToken)).statusCode).toBe(200);
    expectProblem(await refresh(tenant.refreshToken), 401, 'invalid-credentials');
  });

  it('revokes the whole family when a rotated token is replayed', async () => {
    const tenant = await signUp(testApp.app);
    const rotated = (await refresh(tenant.refreshToken)).json();
    expectProblem(await refresh(tenant.refreshToken), 401);
    expectProblem(await refresh(rotated.refreshToken), 401, 'invalid-credentials');
    expectProblem(await members(rotated.accessToken), 401, 'invalid-credentials');
  });

  it('never lets two concurrent exchanges of one token both succeed', async () => {
    const tenant = await signUp(testApp.app);
    const responses = await Promise.all([refresh(tenant.refreshToken), refresh(tenant.refreshToken)]);
    expect(responses.filter((r) => r.statusCode === 200).length).toBeLessThanOrEqual(1);
    for (const response of responses.filter((r) => r.statusCode !== 200)) expectProblem(response, 401);
  });

  it('returns 401 for an unknown refresh token', async () => {
    expectProblem(await refresh('rt_this-token-was-never-issued'), 401, 'invalid-credentials');
  });
});

describe('expiry', () => {
  it('answers 401 token-expired to an access token past its 900 seconds, says to refresh, and refresh gives a working one', async () => {
    const tenant = await signUp(testApp.app);
    expect((await members(tenant.accessToken)).statusCode).toBe(200);
    testApp.clock.advance(901);
    const expired = await members(tenant.accessToken);
    expect(expectProblem(expired, 401, 'token-expired').detail).toMatch(/POST \/v1\/auth\/refresh/);
    expect(expired.headers['www-authenticate']).toMatch(/^Bearer realm="tenantry", error="invalid_token", error_description="[^"]*refresh[^"]*"$/);
    const pair = (await refresh(tenant.refreshToken)).json();
    expect((await members(pair.accessToken)).statusCode).toBe(200);
  });

  it('tells an expired token apart from a forged one and from none at all (RFC 6750 challenges)', async () => {
    const tenant = await signUp(testApp.app);
    const [header, payload] = tenant.accessToken.split('.');
    const forged = await members(`${header}.${payload}.${'A'.repeat(43)}`);
    expectProblem(forged, 401, 'invalid-credentials');
    expect(forged.headers['www-authenticate']).toBe('Bearer realm="tenantry", error="invalid_token", error_description="The credentials are not valid"');
    const anonymous = await testApp.app.inject({ method: 'GET', url: '/v1/members' });
    expectProblem(anonymous, 401, 'unauthenticated');
    expect(anonymous.headers['www-authenticate']).toBe('Bearer realm="tenantry"');
    // A forged token stays invalid-credentials after its exp: only a genuine token is reported expired.
    testApp.clock.advance(901);
    expectProblem(await members(`${header}.${payload}.${'A'.repeat(43)}`), 401, 'invalid-credentials');
  });

  it('answers 401 to a refresh token past its lifetime', async () => {
    const tenant = await signUp(testApp.app);
    testApp.clock.advance(30 * 86_400 + 1);
    expectProblem(await refresh(tenant.refreshToken), 401, 'invalid-credentials');
  });
});
