// GET /v1/audit: a tenant admin pages through their own tenant's entries and never sees
// another tenant's; GET /v1/admin/audit: the operator reads every tenant's and the platform's.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addExistingMember, bearer, expectProblem, login, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { TEST_ROLES } from '../support/roles.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN_TOKEN = 'platform-admin-token-for-audit-tests-0123456789';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
});

afterAll(async () => {
  await testApp.close();
});

async function proTenant(): Promise<SignedUpTenant> {
  const tenant = await signUp(testApp.app);
  await testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(tenant.accessToken), payload: { plan: 'pro' } });
  return tenant;
}

async function toggle(tenant: SignedUpTenant, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    await testApp.app.inject({ method: 'PUT', url: '/v1/flags/dark_mode', headers: bearer(tenant.accessToken), payload: { value: i % 2 === 0 } });
  }
}

function audit(token: string, query = '') {
  return testApp.app.inject({ method: 'GET', url: `/v1/audit${query}`, headers: bearer(token) });
}

describe('GET /v1/audit', () => {
  it("pages through the tenant's own entries, newest first, with a stable cursor", async () => {
    const tenant = await proTenant();
    await toggle(tenant, 6);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await audit(tenant.accessToken, `?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(response.statusCode).toBe(200);
      const body = response.json();
      seen.push(...body.data.map((entry: { id: string }) => entry.id));
      cursor = body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toHaveLength(7); // the plan change and six overrides
    expect(new Set(seen).size).toBe(7);
    const { rows } = await testApp.database.admin.query('SELECT id FROM audit_log WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC', [tenant.tenantId]);
    expect(seen).toEqual(rows.map((row) => row.id));
    const first = (await audit(tenant.accessToken, '?limit=1')).json().data[0];
    expect(first).toMatchObject({ tenantId: tenant.tenantId, actor: `user:${tenant.userId}`, action: 'flag_override.set', target: 'flag:dark_mode' });
  });

  it("never shows another tenant's entries, whatever the cursor", async () => {
    const tenantA = await proTenant();
    const tenantB = await proTenant();
    await toggle(tenantA, 3);
    const pageA = (await audit(tenantA.accessToken, '?limit=1')).json();
    const entriesB = (await audit(tenantB.accessToken)).json().data;
    expect(entriesB.every((entry: { tenantId: string }) => entry.tenantId === tenantB.tenantId)).toBe(true);
    expect(entriesB).toHaveLength(1); // B's own plan change only
    // A's cursor used by B still reads only B's rows.
    const withCursorOfA = (await audit(tenantB.accessToken, `?cursor=${pageA.nextCursor}`)).json().data;
    expect(withCursorOfA.every((entry: { tenantId: string }) => entry.tenantId === tenantB.tenantId)).toBe(true);
  });

  it('returns 403 to a member and 400 for an altered cursor', async () => {
    const tenant = await proTenant();
    const person = await signUp(testApp.app);
    await addExistingMember(testApp.app, tenant.accessToken, person, 'member');
    const token = (await login(testApp.app, person.email, person.password, tenant.slug)).json().accessToken;
    expectProblem(await audit(token), 403, 'forbidden');
    expectProblem(await audit(tenant.accessToken, '?cursor=bm90LWEtY3Vyc29y'), 400, 'validation-failed');
  });

  it('is append-only for the app role: it may stamp deleted_at, never rewrite an entry', async () => {
    const tenant = await proTenant();
    const client = await testApp.database.admin.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL ROLE ${TEST_ROLES.app}`);
      await client.query(`SET LOCAL app.tenant_id = '${tenant.tenantId}'`);
      await client.query('SAVEPOINT probe');
      await expect(client.query(`UPDATE audit_log SET action = 'forged'`)).rejects.toThrow(/permission denied/);
      await client.query('ROLLBACK TO SAVEPOINT probe');
      await expect(client.query('DELETE FROM audit_log')).rejects.toThrow(/permission denied/);
      await client.query('ROLLBACK TO SAVEPOINT probe');
      const stamped = await client.query('UPDATE audit_log SET deleted_at = now()');
      expect(stamped.rowCount).toBe(1);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});

describe('GET /v1/admin/audit', () => {
  it("reads every tenant's entries, one tenant's, or the platform's, for the operator only", async () => {
    const tenantA = await proTenant();
    const tenantB = await proTenant();
    const admin = bearer(ADMIN_TOKEN);
    const all = (await testApp.app.inject({ method: 'GET', url: '/v1/admin/audit?limit=100', headers: admin })).json().data;
    const tenantsSeen = new Set(all.map((entry: { tenantId: string }) => entry.tenantId));
    expect(tenantsSeen.has(tenantA.tenantId) && tenantsSeen.has(tenantB.tenantId)).toBe(true);

    const onlyA = (await testApp.app.inject({ method: 'GET', url: `/v1/admin/audit?tenantId=${tenantA.tenantId}`, headers: admin })).json().data;
    expect(onlyA.map((entry: { tenantId: string }) => entry.tenantId)).toEqual([tenantA.tenantId]);

    await testApp.app.inject({ method: 'PUT', url: '/v1/admin/flags/audit_probe', headers: admin, payload: { kind: 'boolean', defaultValue: false } });
    const platform = (await testApp.app.inject({ method: 'GET', url: '/v1/admin/audit?scope=platform', headers: admin })).json().data;
    expect(platform[0]).toMatchObject({ tenantId: null, actor: 'platform_admin', action: 'flag.created', target: 'flag:audit_probe' });

    expectProblem(await testApp.app.inject({ method: 'GET', url: '/v1/admin/audit', headers: bearer(tenantA.accessToken) }), 403, 'forbidden');
  });
});
