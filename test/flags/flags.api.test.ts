// /v1/flags and /v1/admin/flags: evaluation with its source level (default, plan, tenant),
// tenant-editable overrides, the operator's management, plan gating, and tenant isolation.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addExistingMember, bearer, expectProblem, login, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN_TOKEN = 'platform-admin-token-for-flag-tests-0123456789';
const admin = bearer(ADMIN_TOKEN);

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
});

afterAll(async () => {
  await testApp.close();
});

interface Evaluated {
  key: string;
  kind: string;
  value: unknown;
  source: string;
  tenantEditable: boolean;
}

async function flagsOf(token: string): Promise<Record<string, Evaluated>> {
  const response = await testApp.app.inject({ method: 'GET', url: '/v1/flags', headers: bearer(token) });
  expect(response.statusCode).toBe(200);
  return Object.fromEntries(response.json().data.map((flag: Evaluated) => [flag.key, flag]));
}

function inject(method: 'PUT' | 'DELETE' | 'PATCH' | 'GET', url: string, headers: Record<string, string>, payload?: unknown) {
  return testApp.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
}

async function onPlan(tenant: SignedUpTenant, plan: string): Promise<void> {
  expect((await inject('PATCH', '/v1/tenant/plan', bearer(tenant.accessToken), { plan })).statusCode).toBe(200);
}

describe('GET /v1/flags', () => {
  it('evaluates every flag for the tenant with the level each value came from', async () => {
    const tenant = await signUp(testApp.app);
    const flags = await flagsOf(tenant.accessToken);
    expect(Object.keys(flags).sort()).toEqual(['audit_log', 'custom_branding', 'dark_mode', 'new_dashboard', 'recall_strategy']);
    expect(flags.audit_log).toEqual({ key: 'audit_log', kind: 'boolean', value: false, source: 'default', tenantEditable: false });
    expect(flags.recall_strategy).toMatchObject({ value: 'fts', source: 'default', tenantEditable: true });
    expect(flags.new_dashboard).toMatchObject({ kind: 'rollout', value: expect.any(Boolean), source: 'default' });
  });

  it('takes plan defaults from the plan the tenant is on', async () => {
    const tenant = await signUp(testApp.app);
    await onPlan(tenant, 'promax');
    const flags = await flagsOf(tenant.accessToken);
    expect(flags.audit_log).toMatchObject({ value: true, source: 'plan' });
    expect(flags.recall_strategy).toMatchObject({ value: 'hybrid', source: 'plan' });
    expect(flags.dark_mode).toMatchObject({ value: false, source: 'default' });
  });

  it('gives the same rollout answer as the bucket of flag key + tenant id', async () => {
    const { rolloutBucket } = await import('../../src/flags/murmur3.js');
    for (let i = 0; i < 5; i++) {
      const tenant = await signUp(testApp.app);
      const flags = await flagsOf(tenant.accessToken);
      expect(flags.new_dashboard!.value).toBe(rolloutBucket('new_dashboard', tenant.tenantId) < 2500);
    }
  });
});

describe('tenant overrides', () => {
  it('lets a tenant admin set and remove a tenant-editable flag, most specific level winning', async () => {
    const tenant = await signUp(testApp.app);
    await onPlan(tenant, 'promax');
    const set = await inject('PUT', '/v1/flags/recall_strategy', bearer(tenant.accessToken), { value: 'fts' });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toMatchObject({ key: 'recall_strategy', value: 'fts', source: 'tenant' });
    expect((await flagsOf(tenant.accessToken)).recall_strategy).toMatchObject({ value: 'fts', source: 'tenant' });

    const removed = await inject('DELETE', '/v1/flags/recall_strategy', bearer(tenant.accessToken));
    expect(removed.statusCode).toBe(200);
    expect(removed.json()).toMatchObject({ value: 'hybrid', source: 'plan' });
  });

  it('returns 403 for a flag that is not tenant-editable, and writes nothing', async () => {
    const tenant = await signUp(testApp.app);
    expectProblem(await inject('PUT', '/v1/flags/audit_log', bearer(tenant.accessToken), { value: true }), 403, 'forbidden');
    const { rows } = await testApp.database.admin.query('SELECT count(*)::int AS n FROM flag_overrides WHERE tenant_id = $1', [tenant.tenantId]);
    expect(rows[0].n).toBe(0);
    expect((await flagsOf(tenant.accessToken)).audit_log!.value).toBe(false);
  });

  it('returns 400 for a value of the wrong type and 404 for an unknown flag', async () => {
    const tenant = await signUp(testApp.app);
    expectProblem(await inject('PUT', '/v1/flags/dark_mode', bearer(tenant.accessToken), { value: 'yes' }), 400, 'validation-failed');
    expectProblem(await inject('PUT', '/v1/flags/recall_strategy', bearer(tenant.accessToken), { value: null }), 400, 'validation-failed');
    expectProblem(await inject('PUT', '/v1/flags/no_such_flag', bearer(tenant.accessToken), { value: true }), 404, 'not-found');
    expectProblem(await inject('DELETE', '/v1/flags/dark_mode', bearer(tenant.accessToken)), 404, 'not-found');
  });

  it('returns 403 to a member (admins only)', async () => {
    const tenant = await signUp(testApp.app);
    const person = await signUp(testApp.app);
    await inject('PUT', '/v1/flags/dark_mode', bearer(tenant.accessToken), { value: true });
    await addExistingMember(testApp.app, tenant.accessToken, person, 'member');
    const token = (await login(testApp.app, person.email, person.password, tenant.slug)).json().accessToken;
    expectProblem(await inject('PUT', '/v1/flags/dark_mode', bearer(token), { value: false }), 403, 'forbidden');
    expect((await flagsOf(token)).dark_mode).toMatchObject({ value: true, source: 'tenant' });
  });

  it("never shows tenant A's override (or A's cached evaluation) to tenant B", async () => {
    const tenantA = await signUp(testApp.app);
    const tenantB = await signUp(testApp.app);
    // Warm both tenants' cache entries first, then change A.
    await flagsOf(tenantA.accessToken);
    await flagsOf(tenantB.accessToken);
    await inject('PUT', '/v1/flags/dark_mode', bearer(tenantA.accessToken), { value: true });
    for (let i = 0; i < 3; i++) {
      expect((await flagsOf(tenantA.accessToken)).dark_mode).toMatchObject({ value: true, source: 'tenant' });
      expect((await flagsOf(tenantB.accessToken)).dark_mode).toMatchObject({ value: false, source: 'default' });
    }
    // A's override cannot be removed through B either.
    expectProblem(await inject('DELETE', '/v1/flags/dark_mode', bearer(tenantB.accessToken)), 404, 'not-found');
    expect((await flagsOf(tenantA.accessToken)).dark_mode!.value).toBe(true);
  });

  it('writes an audit row for each change', async () => {
    const tenant = await signUp(testApp.app);
    await inject('PUT', '/v1/flags/dark_mode', bearer(tenant.accessToken), { value: true });
    await inject('PUT', '/v1/flags/dark_mode', bearer(tenant.accessToken), { value: false });
    await inject('DELETE', '/v1/flags/dark_mode', bearer(tenant.accessToken));
    const { rows } = await testApp.database.admin.query(
      'SELECT actor, action, target, before, after FROM audit_log WHERE tenant_id = $1 ORDER BY created_at, id',
      [tenant.tenantId],
    );
    expect(rows).toEqual([
      { actor: `user:${tenant.userId}`, action: 'flag_override.set', target: 'flag:dark_mode', before: null, after: { value: true } },
      { actor: `user:${tenant.userId}`, action: 'flag_override.set', target: 'flag:dark_mode', before: { value: true }, after: { value: false } },
      { actor: `user:${tenant.userId}`, action: 'flag_override.removed', target: 'flag:dark_mode', before: { value: false }, after: null },
    ]);
  });
});

describe('plan gating', () => {
  it('answers 403 feature-not-in-plan naming the feature and the cheapest plan that has it', async () => {
    const tenant = await signUp(testApp.app);
    const body = expectProblem(await inject('GET', '/v1/audit', bearer(tenant.accessToken)), 403, 'feature-not-in-plan');
    expect(body).toMatchObject({ feature: 'audit_log', required_plan: 'pro' });
    await onPlan(tenant, 'pro');
    expect((await inject('GET', '/v1/audit', bearer(tenant.accessToken))).statusCode).toBe(200);
    await onPlan(tenant, 'free');
    expectProblem(await inject('GET', '/v1/audit', bearer(tenant.accessToken)), 403, 'feature-not-in-plan');
  });

  it("opens the feature for a free tenant the operator overrides, and for no other tenant", async () => {
    const tenant = await signUp(testApp.app);
    const other = await signUp(testApp.app);
    const override = await inject('PUT', `/v1/admin/flags/audit_log/tenants/${tenant.tenantId}`, admin, { value: true });
    expect(override.statusCode).toBe(200);
    expect(override.json()).toEqual({ key: 'audit_log', tenantId: tenant.tenantId, value: true });
    expect((await inject('GET', '/v1/audit', bearer(tenant.accessToken))).statusCode).toBe(200);
    expectProblem(await inject('GET', '/v1/audit', bearer(other.accessToken)), 403, 'feature-not-in-plan');
  });
});

describe('/v1/admin/flags', () => {
  it('creates a flag that every tenant then evaluates, and refuses a tenant credential', async () => {
    const tenant = await signUp(testApp.app);
    expectProblem(await inject('PUT', '/v1/admin/flags/beta_search', bearer(tenant.accessToken), { kind: 'boolean', defaultValue: true }), 403, 'forbidden');
    const created = await inject('PUT', '/v1/admin/flags/beta_search', admin, { kind: 'boolean', defaultValue: true, description: 'Beta search' });
    expect(created.statusCode).toBe(200);
    expect(created.json()).toMatchObject({ key: 'beta_search', kind: 'boolean', defaultValue: true, tenantEditable: false, planDefaults: {} });
    expect((await flagsOf(tenant.accessToken)).beta_search).toMatchObject({ value: true, source: 'default' });

    expect((await inject('PUT', '/v1/admin/flags/beta_search/plans/free', admin, { value: false })).statusCode).toBe(200);
    expect((await flagsOf(tenant.accessToken)).beta_search).toMatchObject({ value: false, source: 'plan' });

    const removedDefault = await inject('DELETE', '/v1/admin/flags/beta_search/plans/free', admin);
    expect([removedDefault.statusCode, removedDefault.body]).toEqual([204, '']);
    expect((await flagsOf(tenant.accessToken)).beta_search).toMatchObject({ value: true, source: 'default' });

    expect((await inject('DELETE', '/v1/admin/flags/beta_search', admin)).statusCode).toBe(204);
    expect((await flagsOf(tenant.accessToken)).beta_search).toBeUndefined();
  });

  it('validates definitions: rollout needs a percentage, kinds never change, values fit the kind', async () => {
    expect(expectProblem(await inject('PUT', '/v1/admin/flags/ramp', admin, { kind: 'rollout' }), 400, 'validation-failed').errors).toEqual([
      { field: 'body.rolloutPercentage', message: "must have required property 'rolloutPercentage'" },
    ]);
    expect(expectProblem(await inject('PUT', '/v1/admin/flags/ramp', admin, { kind: 'boolean' }), 400, 'validation-failed').errors).toEqual([
      { field: 'body.defaultValue', message: "must have required property 'defaultValue'" },
    ]);
    expect(expectProblem(await inject('PUT', '/v1/admin/flags/ramp', admin, { kind: 'rollout', rolloutPercentage: 5, defaultValue: true }), 400).errors).toEqual([
      { field: 'body.defaultValue', message: 'must be false' },
    ]);
    expectProblem(await inject('PUT', '/v1/admin/flags/ramp', admin, { kind: 'boolean', defaultValue: 'on' }), 400, 'validation-failed');
    expectProblem(await inject('PUT', '/v1/admin/flags/ramp', admin, { kind: 'rollout', rolloutPercentage: 101 }), 400, 'validation-failed');
    const ramp = await inject('PUT', '/v1/admin/flags/ramp', admin, { kind: 'rollout', rolloutPercentage: 12.5, bucketBy: 'userId' });
    expect(ramp.json()).toMatchObject({ kind: 'rollout', rolloutPercentage: 12.5, bucketBy: 'userId', defaultValue: false });
    expectProblem(await inject('PUT', '/v1/admin/flags/ramp', admin, { kind: 'variant', defaultValue: 'a' }), 409, 'conflict');
    expectProblem(await inject('PUT', '/v1/admin/flags/ramp/plans/pro', admin, { value: 'a' }), 400, 'validation-failed');
    expectProblem(await inject('PUT', '/v1/admin/flags/ramp/plans/platinum', admin, { value: true }), 404, 'not-found');
  });

  it('records platform changes in the platform audit log and override changes in the tenant audit log', async () => {
    const tenant = await signUp(testApp.app);
    await inject('PUT', '/v1/admin/flags/audited_flag', admin, { kind: 'variant', defaultValue: { color: 'blue' } });
    await inject('PUT', '/v1/admin/flags/audited_flag/plans/pro', admin, { value: { color: 'red' } });
    await inject('PUT', `/v1/admin/flags/audited_flag/tenants/${tenant.tenantId}`, admin, { value: { color: 'green' } });
    const platform = await testApp.database.admin.query(
      `SELECT actor, action, target, after FROM platform_audit_log WHERE target LIKE 'flag:audited_flag%' ORDER BY created_at`,
    );
    expect(platform.rows).toEqual([
      { actor: 'platform_admin', action: 'flag.created', target: 'flag:audited_flag', after: expect.objectContaining({ defaultValue: { color: 'blue' } }) },
      { actor: 'platform_admin', action: 'flag_plan_default.set', target: 'flag:audited_flag@plan:pro', after: { value: { color: 'red' } } },
    ]);
    const tenantRows = await testApp.database.admin.query('SELECT actor, action, target, after FROM audit_log WHERE tenant_id = $1', [tenant.tenantId]);
    expect(tenantRows.rows).toEqual([{ actor: 'platform_admin', action: 'flag_override.set', target: 'flag:audited_flag', after: { value: { color: 'green' } } }]);
    expect((await flagsOf(tenant.accessToken)).audited_flag).toMatchObject({ value: { color: 'green' }, source: 'tenant' });
  });
});
