// Tenant resolution at the edge: the credential's tenant, then X-Tenant-ID (id or slug),
// then the subdomain. A name that disagrees with the credential is refused, never followed.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, jwtClaims, login, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;
let a: SignedUpTenant;
let b: SignedUpTenant;
/** A token of a user who belongs to both tenants and chose neither at login. */
let unscopedToken: string;

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_BASE_DOMAIN: 'tenantry.test' });
  a = await signUp(testApp.app, { subdomain: `sub-${Date.now().toString(36)}` });
  // The same person founds a second tenant: one user, two memberships.
  b = await signUp(testApp.app, { email: a.email, password: a.password });
  const response = await login(testApp.app, a.email, a.password);
  unscopedToken = response.json().accessToken;
  expect(jwtClaims(unscopedToken).tenant_id).toBeUndefined();
});

afterAll(async () => {
  await testApp.close();
});

async function members(headers: Record<string, string>) {
  return testApp.app.inject({ method: 'GET', url: '/v1/members', headers });
}

describe('tenant resolution', () => {
  it('answers 400 when a tenant route names no tenant', async () => {
    expectProblem(await members(bearer(unscopedToken)), 400, 'tenant-required');
  });

  it('takes the tenant from X-Tenant-ID, by id or by slug', async () => {
    for (const name of [a.tenantId, a.slug, a.slug.toUpperCase()]) {
      const response = await members({ ...bearer(unscopedToken), 'x-tenant-id': name });
      expect(response.statusCode, name).toBe(200);
    }
    const viaB = await members({ ...bearer(unscopedToken), 'x-tenant-id': b.slug });
    expect(viaB.statusCode).toBe(200);
  });

  it('takes the tenant from the subdomain of the base domain', async () => {
    const { rows } = await testApp.database.admin.query('SELECT subdomain FROM tenants WHERE id = $1', [a.tenantId]);
    const response = await members({ ...bearer(unscopedToken), host: `${rows[0].subdomain}.tenantry.test` });
    expect(response.statusCode).toBe(200);
    expectProblem(await members({ ...bearer(unscopedToken), host: 'nobody-here.tenantry.test' }), 404, 'tenant-not-found');
  });

  it('refuses a header that names another tenant than the token\'s claim', async () => {
    expectProblem(await members({ ...bearer(a.accessToken), 'x-tenant-id': b.tenantId }), 403, 'tenant-mismatch');
    expectProblem(await members({ ...bearer(a.accessToken), 'x-tenant-id': b.slug }), 403, 'tenant-mismatch');
  });

  it('accepts a header that agrees with the credential', async () => {
    expect((await members({ ...bearer(a.accessToken), 'x-tenant-id': a.slug })).statusCode).toBe(200);
    expect((await members({ ...bearer(a.apiKey), 'x-tenant-id': a.tenantId })).statusCode).toBe(200);
  });

  it('answers 403 to a user who is not a member of the named tenant', async () => {
    const stranger = await signUp(testApp.app);
    await signUp(testApp.app, { email: stranger.email, password: stranger.password });
    const token = (await login(testApp.app, stranger.email, stranger.password)).json().accessToken;
    expectProblem(await members({ ...bearer(token), 'x-tenant-id': a.slug }), 403, 'not-a-member');
    const switched = await testApp.app.inject({
      method: 'POST',
      url: '/v1/auth/switch-tenant',
      headers: bearer(token),
      payload: { tenant: a.slug },
    });
    expectProblem(switched, 403, 'not-a-member');
  });

  it('answers 404 for an unknown tenant', async () => {
    expectProblem(await members({ ...bearer(unscopedToken), 'x-tenant-id': 'no-such-tenant' }), 404, 'tenant-not-found');
    expectProblem(
      await members({ ...bearer(unscopedToken), 'x-tenant-id': '01a20817-0000-7000-8000-000000000000' }),
      404,
      'tenant-not-found',
    );
  });

  it('writes tenant_id and request_id on every log line of a tenant request', async () => {
    const response = await members({ ...bearer(a.accessToken), 'x-request-id': 'trace-me-123' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-request-id']).toBe('trace-me-123');
    const lines = testApp
      .logs()
      .split('\n')
      .filter((line) => line.includes('"request_id":"trace-me-123"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const afterResolution = lines.filter((line) => line.msg === 'request completed');
    expect(afterResolution.length).toBeGreaterThan(0);
    for (const line of afterResolution) expect(line.tenant_id).toBe(a.tenantId);
  });
});
