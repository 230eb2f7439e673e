// GET/PATCH /v1/tenant: the tenant the request acts in; its name (owners and admins) and
// subdomain (owners only) under sign-up's rules. Bad input and other tenants change nothing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNewMember, bearer, expectProblem, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp?.close();
});

function getTenant(token: string, headers: Record<string, string> = {}) {
  return testApp.app.inject({ method: 'GET', url: '/v1/tenant', headers: { ...bearer(token), ...headers } });
}

function patchTenant(token: string, payload: unknown, headers: Record<string, string> = {}) {
  return testApp.app.inject({ method: 'PATCH', url: '/v1/tenant', headers: { ...bearer(token), ...headers }, payload: payload as object });
}

async function row(tenant: SignedUpTenant) {
  const { rows } = await testApp.database.admin.query(`SELECT name, subdomain, updated_at FROM tenants WHERE id = $1`, [tenant.tenantId]);
  return rows[0];
}

describe('GET /v1/tenant', () => {
  it('answers the tenant the credential acts in, to any member and to an API key', async () => {
    const tenant = await signUp(testApp.app);
    const response = await getTenant(tenant.accessToken);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: tenant.tenantId, slug: tenant.slug, name: `Tenant ${tenant.slug}`, subdomain: null, plan: 'free', status: 'active' });
    expect((await getTenant(tenant.apiKey)).json().id).toBe(tenant.tenantId);
  });

  it("refuses to show another tenant named by X-Tenant-ID (403 tenant-mismatch)", async () => {
    const a = await signUp(testApp.app);
    const b = await signUp(testApp.app);
    expectProblem(await getTenant(a.accessToken, { 'x-tenant-id': b.tenantId }), 403, 'tenant-mismatch');
  });
});

describe('PATCH /v1/tenant', () => {
  it('changes the name and the subdomain, and records both in the audit log', async () => {
    const tenant = await signUp(testApp.app);
    const subdomain = `sub-${tenant.slug}`.slice(0, 63);
    const response = await patchTenant(tenant.accessToken, { name: 'Renamed Ltd', subdomain });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ name: 'Renamed Ltd', subdomain });
    expect(await row(tenant)).toMatchObject({ name: 'Renamed Ltd', subdomain });
    const { rows } = await testApp.database.admin.query(`SELECT before, after FROM audit_log WHERE tenant_id = $1 AND action = 'tenant.updated'`, [tenant.tenantId]);
    expect(rows).toEqual([{ before: { name: `Tenant ${tenant.slug}`, subdomain: null }, after: { name: 'Renamed Ltd', subdomain } }]);

    expect((await patchTenant(tenant.accessToken, { subdomain: null })).json().subdomain).toBeNull();
  });

  it('answers 409 subdomain-taken for a subdomain another tenant has, and changes nothing', async () => {
    const other = await signUp(testApp.app, { subdomain: `taken-${Date.now()}` });
    const tenant = await signUp(testApp.app);
    const before = await row(tenant);
    const { subdomain } = (await getTenant(other.accessToken)).json();
    expectProblem(await patchTenant(tenant.accessToken, { name: 'New name', subdomain }), 409, 'subdomain-taken');
    expect(await row(tenant)).toEqual(before);
  });

  it('answers 400 to a badly shaped or reserved subdomain, an empty body or an unknown field, and changes nothing', async () => {
    const tenant = await signUp(testApp.app);
    const before = await row(tenant);
    expectProblem(await patchTenant(tenant.accessToken, { subdomain: 'Not_Valid' }), 400, 'validation-failed');
    expectProblem(await patchTenant(tenant.accessToken, { subdomain: 'admin' }), 400, 'validation-failed');
    expectProblem(await patchTenant(tenant.accessToken, {}), 400, 'validation-failed');
    expectProblem(await patchTenant(tenant.accessToken, { slug: 'new-slug' }), 400, 'validation-failed');
    expectProblem(await patchTenant(tenant.accessToken, { name: '' }), 400, 'validation-failed');
    expect(await row(tenant)).toEqual(before);
  });

  it('lets an admin rename but only an owner change the subdomain; a member neither', async () => {
    const tenant = await signUp(testApp.app);
    const admin = await addNewMember(testApp.app, tenant.accessToken, 'admin');
    const member = await addNewMember(testApp.app, tenant.accessToken, 'member');
    expect((await patchTenant(admin.accessToken, { name: 'By the admin' })).statusCode).toBe(200);
    expectProblem(await patchTenant(admin.accessToken, { subdomain: `adm-${tenant.slug}`.slice(0, 63) }), 403, 'forbidden');
    expectProblem(await patchTenant(member.accessToken, { name: 'By a member' }), 403, 'forbidden');
    expect(await row(tenant)).toMatchObject({ name: 'By the admin', subdomain: null });
  });

  it("cannot reach another tenant: X-Tenant-ID naming it is refused and neither tenant changes", async () => {
    const a = await signUp(testApp.app);
    const b = await signUp(testApp.app);
    const [beforeA, beforeB] = [await row(a), await row(b)];
    expectProblem(await patchTenant(a.accessToken, { name: 'Hijacked' }, { 'x-tenant-id': b.tenantId }), 403, 'tenant-mismatch');
    expect(await row(a)).toEqual(beforeA);
    expect(await row(b)).toEqual(beforeB);
  });
});
