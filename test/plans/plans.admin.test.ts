// The operator edits the plan catalog without a migration: creates a plan, changes its prices,
// limits and flags, retires it. Only the operator may; bad input is a 400 problem and changes
// nothing; every change is in the platform audit log and reaches the catalog cache at once; a
// retired plan is kept by its tenants and refused to sign-ups and plan changes.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, expectProblem, signUp, uniqueSlug } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN_TOKEN = 'plans-admin-operator-token-long-enough-0123456';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
});

afterAll(async () => {
  await testApp.close();
});

const newKey = () => `p_${randomBytes(4).toString('hex')}`;
const admin = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object, token = ADMIN_TOKEN) =>
  testApp.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
const basePlan = (key: string) => ({
  key,
  name: 'Team',
  monthlyPriceCents: 900,
  limits: { seats: 10, tasks: 5000 },
  apiRateLimitPerMinute: 300,
  sortOrder: 15,
  meteredPrices: { api_calls: { included: 200000, unitPriceMillicents: 12 } },
  flags: { audit_log: true },
});

async function catalogRows() {
  const plans = await testApp.database.admin.query('SELECT * FROM plans ORDER BY key');
  const defaults = await testApp.database.admin.query('SELECT flag_key, plan_key, value FROM flag_plan_defaults ORDER BY flag_key, plan_key');
  return { plans: plans.rows, defaults: defaults.rows };
}

async function platformAudit(key: string) {
  const { rows } = await testApp.database.admin.query(`SELECT actor, action, before, after FROM platform_audit_log WHERE target = $1 ORDER BY created_at`, [`plan:${key}`]);
  return rows;
}

describe('creating and changing plans', () => {
  it('creates a plan with prices, limits and flags: listed publicly at once, audited', async () => {
    const key = newKey();
    expect((await testApp.app.inject({ method: 'GET', url: '/v1/plans' })).json().data.map((plan: { key: string }) => plan.key)).not.toContain(key);
    const created = await admin('POST', '/v1/admin/plans', basePlan(key));
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ key, monthlyPriceCents: 900, flags: { audit_log: true }, retiredAt: null });
    const listed = (await testApp.app.inject({ method: 'GET', url: '/v1/plans' })).json().data.find((plan: { key: string }) => plan.key === key);
    expect(listed).toMatchObject({ key, limits: { seats: 10, tasks: 5000 }, features: ['audit_log'] });
    expect(await testApp.services.plans.limitFor(key, 'tasks')).toBe(5000);
    expect(await platformAudit(key)).toEqual([{ actor: 'platform_admin', action: 'plan.created', before: null, after: expect.objectContaining({ key, flags: { audit_log: true } }) }]);
    expectProblem(await admin('POST', '/v1/admin/plans', basePlan(key)), 409, 'conflict');
  });

  it("changes a plan's prices, limits and flags for every tenant on it at once, audited with before and after", async () => {
    const key = newKey();
    await admin('POST', '/v1/admin/plans', basePlan(key));
    expect(await testApp.services.plans.limitFor(key, 'tasks')).toBe(5000);
    const changed = await admin('PATCH', `/v1/admin/plans/${key}`, {
      monthlyPriceCents: 1200,
      limits: { seats: 12, tasks: 8000 },
      meteredPrices: { api_calls: { included: 300000, unitPriceMillicents: 9 } },
      flags: { custom_branding: true },
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({ monthlyPriceCents: 1200, flags: { custom_branding: true }, meteredPrices: { api_calls: { included: 300000, unitPriceMillicents: 9 } } });
    // The same instance's cache was dropped in the changing transaction's wake, not after its TTL.
    expect(await testApp.services.plans.limitFor(key, 'tasks')).toBe(8000);
    const plan = await testApp.services.plans.get(key);
    expect(plan.meteredPrices).toEqual({ api_calls: { included: 300000, unitPriceMillicents: 9 } });
    const audit = await platformAudit(key);
    expect(audit.at(-1)).toMatchObject({
      action: 'plan.updated',
      before: { monthlyPriceCents: 900, flags: { audit_log: true } },
      after: { monthlyPriceCents: 1200, flags: { custom_branding: true } },
    });
  });

  const invalid: [string, (key: string) => object][] = [
    ['an unknown metric in limits', () => ({ limits: { unicorns: 3 } })],
    ['a negative limit', () => ({ limits: { seats: -1 } })],
    ['a metered price on an unknown metric', () => ({ meteredPrices: { unicorns: { included: 1, unitPriceMillicents: 1 } } })],
    ['a fractional unit price', () => ({ meteredPrices: { api_calls: { included: 1, unitPriceMillicents: 1.5 } } })],
    ['an unknown flag', () => ({ flags: { no_such_flag: true } })],
    ['a flag value of the wrong kind', () => ({ flags: { audit_log: 'yes' } })],
    ['a negative price', () => ({ monthlyPriceCents: -5 })],
    ['an unknown field', () => ({ colour: 'gold' })],
    ['an empty body', () => ({})],
  ];
  for (const [what, body] of invalid) {
    it(`answers 400 for ${what}, and the catalog does not change`, async () => {
      const key = newKey();
      await admin('POST', '/v1/admin/plans', basePlan(key));
      const before = await catalogRows();
      const auditBefore = await platformAudit(key);
      expectProblem(await admin('PATCH', `/v1/admin/plans/${key}`, body(key)), 400, 'validation-failed');
      expect(await catalogRows()).toEqual(before);
      expect(await platformAudit(key)).toEqual(auditBefore);
    });
  }

  it('answers 400 for a plan created with a bad key and 404 for changing one that does not exist', async () => {
    const before = await catalogRows();
    expectProblem(await admin('POST', '/v1/admin/plans', basePlan('Bad Key')), 400, 'validation-failed');
    expectProblem(await admin('PATCH', '/v1/admin/plans/nosuchplan', { name: 'x' }), 404, 'not-found');
    expect(await catalogRows()).toEqual(before);
  });
});

describe('only the operator edits the catalog', () => {
  it('refuses a tenant owner (403) and no credential (401) on every admin plan route, changing nothing', async () => {
    const owner = await signUp(testApp.app);
    const before = await catalogRows();
    for (const [method, url, payload] of [
      ['GET', '/v1/admin/plans', undefined],
      ['POST', '/v1/admin/plans', basePlan(newKey())],
      ['PATCH', '/v1/admin/plans/pro', { monthlyPriceCents: 0 }],
      ['POST', '/v1/admin/plans/pro/retire', { reason: 'mine now' }],
    ] as const) {
      expectProblem(await admin(method, url, payload, owner.accessToken), 403);
      expectProblem(await admin(method, url, payload, owner.apiKey), 403);
      expectProblem(await testApp.app.inject({ method, url, ...(payload ? { payload } : {}) }), 401);
    }
    expect(await catalogRows()).toEqual(before);
  });
});

describe('retiring a plan', () => {
  it('keeps it for the tenants on it, hides it from GET /v1/plans, and refuses it to sign-ups and plan changes (409)', async () => {
    const key = newKey();
    await admin('POST', '/v1/admin/plans', basePlan(key));
    const onIt = await signUp(testApp.app);
    expect((await testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(onIt.accessToken), payload: { plan: key } })).statusCode).toBe(200);

    const retired = await admin('POST', `/v1/admin/plans/${key}/retire`, { reason: 'replaced by team2' });
    expect(retired.statusCode).toBe(200);
    expect(retired.json().retiredAt).toEqual(expect.any(String));
    expect((await admin('POST', `/v1/admin/plans/${key}/retire`, { reason: 'again' })).json().retiredAt).toBe(retired.json().retiredAt);
    expect((await platformAudit(key)).filter((row) => row.action === 'plan.retired')).toHaveLength(1);

    const { rows } = await testApp.database.admin.query('SELECT plan FROM tenants WHERE id = $1', [onIt.tenantId]);
    expect(rows[0].plan).toBe(key);
    expect((await testApp.app.inject({ method: 'GET', url: '/v1/plans' })).json().data.map((plan: { key: string }) => plan.key)).not.toContain(key);
    expect((await admin('GET', '/v1/admin/plans')).json().data.map((plan: { key: string }) => plan.key)).toContain(key);

    const other = await signUp(testApp.app);
    expectProblem(await testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(other.accessToken), payload: { plan: key } }), 409, 'plan-retired');
    const slug = uniqueSlug();
    const signUpOnIt = await testApp.app.inject({
      method: 'POST',
      url: '/v1/tenants',
      payload: { name: 'Late', slug, plan: key, owner: { email: `${slug}@example.test`, password: 'correct horse battery staple', name: 'Late' } },
    });
    expectProblem(signUpOnIt, 409, 'plan-retired');
    const { rows: made } = await testApp.database.admin.query('SELECT count(*)::int AS n FROM tenants WHERE slug = $1', [slug]);
    expect(made[0].n).toBe(0);
  });
});
