// The platform-admin API is the one HTTP path across tenants: only the operator's token
// opens it, and each use leaves an audit row naming its reason.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN_TOKEN = 'platform-admin-token-for-tests-0123456789';
let testApp: TestApp;
let a: SignedUpTenant;
let b: SignedUpTenant;

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
  a = await signUp(testApp.app);
  b = await signUp(testApp.app);
});

afterAll(async () => {
  await testApp.close();
});

describe('GET /v1/admin/tenants', () => {
  it('lists every tenant for the platform admin, paginated', async () => {
    const first = await testApp.app.inject({ method: 'GET', url: '/v1/admin/tenants?limit=1', headers: bearer(ADMIN_TOKEN) });
    expect(first.statusCode).toBe(200);
    expect(first.json().data).toHaveLength(1);
    const second = await testApp.app.inject({
      method: 'GET',
      url: `/v1/admin/tenants?limit=1&cursor=${first.json().nextCursor}`,
      headers: bearer(ADMIN_TOKEN),
    });
    const ids = [first.json().data[0].id, second.json().data[0].id].sort();
    expect(ids).toEqual([a.tenantId, b.tenantId].sort());
    expect(second.json().data[0].members).toBe(1);
    expect(second.json().nextCursor).toBeNull();
  });

  it('refuses tenant credentials, even an owner\'s, with 403', async () => {
    for (const credential of [a.accessToken, a.apiKey]) {
      const response = await testApp.app.inject({ method: 'GET', url: '/v1/admin/tenants', headers: bearer(credential) });
      expectProblem(response, 403, 'forbidden');
    }
  });

  it('refuses a wrong or missing token with 401', async () => {
    expectProblem(await testApp.app.inject({ method: 'GET', url: '/v1/admin/tenants' }), 401);
    expectProblem(
      await testApp.app.inject({ method: 'GET', url: '/v1/admin/tenants', headers: bearer(ADMIN_TOKEN + 'x') }),
      401,
    );
  });

  it('records each use of the service role with its reason', async () => {
    await testApp.app.inject({ method: 'GET', url: `/v1/admin/tenants/${b.tenantId}`, headers: bearer(ADMIN_TOKEN) });
    const { rows } = await testApp.database.admin.query(
      `SELECT reason, actor FROM service_role_audit WHERE reason = 'platform admin: read tenant'`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(1);
  });
});

describe('GET /v1/admin/tenants/:id', () => {
  it('shows one tenant with its counts', async () => {
    const response = await testApp.app.inject({ method: 'GET', url: `/v1/admin/tenants/${a.tenantId}`, headers: bearer(ADMIN_TOKEN) });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: a.tenantId, slug: a.slug, members: 1, counts: { api_keys: 1, memberships: 1, tasks: 0 } });
  });

  it('answers 404 for an unknown id', async () => {
    const response = await testApp.app.inject({
      method: 'GET',
      url: '/v1/admin/tenants/01a20817-0000-7000-8000-000000000000',
      headers: bearer(ADMIN_TOKEN),
    });
    expectProblem(response, 404, 'not-found');
  });
});

describe('without a configured admin token', () => {
  it('accepts no one', async () => {
    const closed = await startTestApp();
    try {
      const tenant = await signUp(closed.app);
      expectProblem(await closed.app.inject({ method: 'GET', url: '/v1/admin/tenants', headers: bearer(tenant.accessToken) }), 403);
      expectProblem(await closed.app.inject({ method: 'GET', url: '/v1/admin/tenants', headers: bearer(ADMIN_TOKEN) }), 401);
    } finally {
      await closed.close();
    }
  });
});
