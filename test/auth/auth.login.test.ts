// POST /v1/auth/login: email and password give a token pair; the access token names the
// tenant asked for, or the only one. Every wrong credential looks the same from outside.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invite, bearer, expectProblem, jwtClaims, login, problemShape, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.close();
});

describe('a user with one tenant', () => {
  let tenant: SignedUpTenant;

  beforeAll(async () => {
    tenant = await signUp(testApp.app);
  });

  it('gets an access token whose tenant_id claim is that tenant', async () => {
    const response = await login(testApp.app, tenant.email, tenant.password);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toEqual({ accessToken: expect.any(String), refreshToken: expect.any(String), expiresIn: 900, tokenType: 'Bearer' });
    expect(jwtClaims(body.accessToken)).toMatchObject({ sub: tenant.userId, tenant_id: tenant.tenantId });
  });

  it('gets a token that works on tenant routes without naming the tenant', async () => {
    const { accessToken } = (await login(testApp.app, tenant.email, tenant.password)).json();
    const response = await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(accessToken) });
    expect(response.statusCode).toBe(200);
  });

  it('signs in with the email in another letter case', async () => {
    const response = await login(testApp.app, tenant.email.toUpperCase(), tenant.password);
    expect(response.statusCode).toBe(200);
  });
});

describe('a user with several tenants', () => {
  let first: SignedUpTenant;
  let second: SignedUpTenant;

  beforeAll(async () => {
    first = await signUp(testApp.app);
    second = await signUp(testApp.app, { email: first.email, password: first.password });
  });

  it('chooses the tenant named by slug', async () => {
    const response = await login(testApp.app, first.email, first.password, second.slug);
    expect(response.statusCode).toBe(200);
    expect(jwtClaims(response.json().accessToken)).toMatchObject({ tenant_id: second.tenantId });
  });

  it('chooses the tenant named by id', async () => {
    const response = await login(testApp.app, first.email, first.password, first.tenantId);
    expect(jwtClaims(response.json().accessToken)).toMatchObject({ tenant_id: first.tenantId });
  });

  it('gets a token with no tenant_id claim when no tenant is named', async () => {
    const response = await login(testApp.app, first.email, first.password);
    expect(response.statusCode).toBe(200);
    const { accessToken } = response.json();
    expect(jwtClaims(accessToken)).not.toHaveProperty('tenant_id');
    expectProblem(await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(accessToken) }), 400, 'tenant-required');
    const named = await testApp.app.inject({
      method: 'GET',
      url: '/v1/members',
      headers: { ...bearer(accessToken), 'x-tenant-id': second.slug },
    });
    expect(named.statusCode).toBe(200);
  });

  it('returns 403 not-a-member when the named tenant is not one of theirs', async () => {
    const stranger = await signUp(testApp.app);
    expectProblem(await login(testApp.app, first.email, first.password, stranger.slug), 403, 'not-a-member');
  });
});

describe('wrong credentials', () => {
  it('answers a wrong password and an unknown email with the same 401', async () => {
    const tenant = await signUp(testApp.app);
    const wrongPassword = expectProblem(await login(testApp.app, tenant.email, 'not the right password'), 401, 'invalid-credentials');
    const unknownEmail = expectProblem(await login(testApp.app, 'nobody@example.test', tenant.password), 401, 'invalid-credentials');
    expect(problemShape(wrongPassword)).toEqual(problemShape(unknownEmail));
  });

  it('answers an invited email that has no account yet with the same 401', async () => {
    const tenant = await signUp(testApp.app);
    const added = await invite(testApp.app, tenant.accessToken, 'invited-login@example.test', 'member');
    expect(added.statusCode).toBe(201);
    const invited = expectProblem(await login(testApp.app, 'invited-login@example.test', 'any password at all'), 401);
    const unknown = expectProblem(await login(testApp.app, 'nobody@example.test', 'any password at all'), 401);
    expect(problemShape(invited)).toEqual(problemShape(unknown));
  });
});
