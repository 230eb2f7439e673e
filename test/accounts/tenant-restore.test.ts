// The platform operator restores a soft-deleted tenant before its purge: the tenant and the
// rows its deletion stamped come back, rows deleted before stay deleted, and it is audited.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNewMember, bearer, expectProblem, login, signUp } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN_TOKEN = 'platform-admin-token-for-the-restore-tests-0123456789';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
});

afterAll(async () => {
  await testApp?.close();
});

function restore(id: string, payload: object = { reason: 'deleted by mistake, per ticket 42' }, token = ADMIN_TOKEN) {
  return testApp.app.inject({ method: 'POST', url: `/v1/admin/tenants/${id}/restore`, headers: bearer(token), payload });
}

function deleteTenant(token: string, slug: string) {
  return testApp.app.inject({ method: 'DELETE', url: '/v1/tenant', headers: bearer(token), payload: { confirm: slug } });
}

describe('restoring a deleted tenant', () => {
  it('brings back the tenant and what its deletion stamped, but not what was deleted before', async () => {
    const tenant = await signUp(testApp.app);
    const leaver = await addNewMember(testApp.app, tenant.accessToken, 'member');
    await testApp.app.inject({ method: 'DELETE', url: `/v1/members/${leaver.userId}`, headers: bearer(tenant.accessToken) });
    expect((await deleteTenant(tenant.accessToken, tenant.slug)).statusCode).toBe(200);
    expectProblem(await login(testApp.app, tenant.email, tenant.password, tenant.slug), 403);

    const response = await restore(tenant.tenantId);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: tenant.tenantId, status: 'active' });

    const signedIn = await login(testApp.app, tenant.email, tenant.password, tenant.slug);
    expect(signedIn.statusCode).toBe(200);
    expect((await testApp.app.inject({ method: 'GET', url: '/v1/tenant', headers: bearer(tenant.apiKey) })).statusCode).toBe(200);
    const { rows } = await testApp.database.admin.query(`SELECT user_id, deleted_at IS NULL AS live FROM memberships WHERE tenant_id = $1 ORDER BY live`, [tenant.tenantId]);
    expect(rows).toEqual([
      { user_id: leaver.userId, live: false },
      { user_id: tenant.userId, live: true },
    ]);
  });

  it('records who restored it and why, in the tenant\'s audit log', async () => {
    const tenant = await signUp(testApp.app);
    await deleteTenant(tenant.accessToken, tenant.slug);
    await restore(tenant.tenantId, { reason: 'customer asked, ticket 7' });
    const { rows } = await testApp.database.admin.query(`SELECT actor, before, after FROM audit_log WHERE tenant_id = $1 AND action = 'tenant.restored'`, [tenant.tenantId]);
    expect(rows).toEqual([{ actor: 'platform_admin', before: { status: 'deleted', deletedAt: expect.any(String) }, after: { status: 'active', reason: 'customer asked, ticket 7' } }]);
    const service = await testApp.database.admin.query(`SELECT reason FROM service_role_audit WHERE reason LIKE 'platform admin: restore%' ORDER BY created_at DESC LIMIT 1`);
    expect(service.rows[0].reason).toContain('customer asked, ticket 7');
  });

  it('answers 409 for a tenant that is not deleted and 404 for one that does not exist (or was purged)', async () => {
    const tenant = await signUp(testApp.app);
    expectProblem(await restore(tenant.tenantId), 409, 'conflict');
    expectProblem(await restore('0190c0de-0000-7000-8000-000000000000'), 404, 'not-found');
  });

  it('answers 400 to a missing reason or a malformed id, and restores nothing', async () => {
    const tenant = await signUp(testApp.app);
    await deleteTenant(tenant.accessToken, tenant.slug);
    expectProblem(await restore(tenant.tenantId, {}), 400, 'validation-failed');
    expectProblem(await restore(tenant.tenantId, { reason: '   ' }), 400, 'validation-failed');
    expectProblem(await restore('not-a-uuid'), 400, 'validation-failed');
    const { rows } = await testApp.database.admin.query(`SELECT status FROM tenants WHERE id = $1`, [tenant.tenantId]);
    expect(rows[0].status).toBe('deleted');
  });

  it('is refused to tenant credentials, even the deleted tenant\'s own owner of another tenant', async () => {
    const deleted = await signUp(testApp.app);
    const other = await signUp(testApp.app);
    await deleteTenant(deleted.accessToken, deleted.slug);
    expectProblem(await restore(deleted.tenantId, undefined, other.accessToken), 403, 'forbidden');
    expectProblem(await restore(deleted.tenantId, undefined, other.apiKey), 403, 'forbidden');
    const { rows } = await testApp.database.admin.query(`SELECT status FROM tenants WHERE id = $1`, [deleted.tenantId]);
    expect(rows[0].status).toBe('deleted');
  });
});
