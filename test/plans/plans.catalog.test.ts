// The plan catalog: seeded from src/plans/catalog.json, listed publicly, read by the Plans
// service (limitFor / rateLimitFor, null = unlimited), and changed by a tenant's owner only.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnknownPlanError } from '../../src/plans/plan.js';
import { addExistingMember, bearer, expectProblem, login, signUp } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

interface CatalogPlan {
  key: string;
  name: string;
  monthlyPriceCents: number | null;
  limits: Record<string, number | null>;
  apiRateLimitPerMinute: number | null;
  sortOrder: number;
  settings: Record<string, unknown>;
  flags: Record<string, unknown>;
  meteredPrices: Record<string, { included: number; unitPriceMillicents: number }>;
}
interface CatalogFlag {
  key: string;
  kind: string;
  description: string;
  defaultValue: unknown;
  rolloutPercentage?: number;
  bucketBy?: string;
  tenantEditable: boolean;
}
const catalog = JSON.parse(readFileSync(new URL('../../src/plans/catalog.json', import.meta.url), 'utf8')) as {
  plans: CatalogPlan[];
  flags: CatalogFlag[];
};

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.close();
});

describe('the seeded catalog', () => {
  it('holds exactly the plans of catalog.json', async () => {
    const { rows } = await testApp.database.admin.query(
      `SELECT key, name, monthly_price_cents, limits, api_rate_limit_per_minute, sort_order, settings, metered_prices FROM plans ORDER BY sort_order`,
    );
    expect(rows).toEqual(
      catalog.plans.map((plan) => ({
        key: plan.key,
        name: plan.name,
        monthly_price_cents: plan.monthlyPriceCents,
        limits: plan.limits,
        api_rate_limit_per_minute: plan.apiRateLimitPerMinute,
        sort_order: plan.sortOrder,
        settings: plan.settings,
        metered_prices: Object.fromEntries(
          Object.entries(plan.meteredPrices).map(([metric, price]) => [
            metric,
            { included: price.included, unit_price_millicents: price.unitPriceMillicents },
          ]),
        ),
      })),
    );
  });

  it('holds exactly the flags and plan defaults of catalog.json', async () => {
    const flags = await testApp.database.admin.query(
      `SELECT key, kind, description, default_value, rollout_basis_points, bucket_by, tenant_editable FROM flag_definitions ORDER BY key`,
    );
    expect(flags.rows).toEqual(
      [...catalog.flags]
        .sort((a, b) => a.key.localeCompare(b.key))
        .map((flag) => ({
          key: flag.key,
          kind: flag.kind,
          description: flag.description,
          default_value: flag.defaultValue,
          rollout_basis_points: flag.rolloutPercentage === undefined ? null : Math.round(flag.rolloutPercentage * 100),
          bucket_by: flag.bucketBy ?? 'tenantId',
          tenant_editable: flag.tenantEditable,
        })),
    );
    const defaults = await testApp.database.admin.query(`SELECT plan_key, flag_key, value FROM flag_plan_defaults ORDER BY 1, 2`);
    const expected = catalog.plans
      .flatMap((plan) => Object.entries(plan.flags).map(([flag, value]) => ({ plan_key: plan.key, flag_key: flag, value })))
      .sort((a, b) => a.plan_key.localeCompare(b.plan_key) || a.flag_key.localeCompare(b.flag_key));
    expect(defaults.rows).toEqual(expected);
  });

  it('refuses a limit written as a large number stand-in or a negative number', async () => {
    await expect(testApp.database.admin.query(`UPDATE plans SET limits = '{"tasks": -1}' WHERE key = 'free'`)).rejects.toThrow(/check/);
    await expect(testApp.database.admin.query(`UPDATE plans SET limits = '{"tasks": "lots"}' WHERE key = 'free'`)).rejects.toThrow(
      /check/,
    );
  });

  it("refuses a tenant whose plan is not in the catalog (tenants.plan references plans)", async () => {
    const tenant = await signUp(testApp.app);
    await expect(testApp.database.admin.query(`UPDATE tenants SET plan = 'platinum' WHERE id = $1`, [tenant.tenantId])).rejects.toThrow(
      /tenants_plan_fkey/,
    );
  });
});

describe('GET /v1/plans', () => {
  it('lists every plan publicly, cheapest first, with null for unlimited and the features each turns on', async () => {
    const response = await testApp.app.inject({ method: 'GET', url: '/v1/plans' });
    expect(response.statusCode).toBe(200);
    const plans = response.json().data;
    expect(plans.map((plan: { key: string }) => plan.key)).toEqual(['free', 'pro', 'promax', 'enterprise']);
    expect(plans[0]).toEqual({
      key: 'free',
      name: 'Free',
      monthlyPriceCents: 0,
      limits: { seats: 3, agents: 1, tasks: 1000, memories: 1000, realtime_connections: 5 },
      apiRateLimitPerMinute: 60,
      features: [],
    });
    expect(plans[1]).toMatchObject({ key: 'pro', limits: { seats: 20, agents: 5, tasks: 50000, memories: 50000, realtime_connections: 25 }, features: ['audit_log', 'custom_branding'] });
    expect(plans[2]).toMatchObject({ key: 'promax', monthlyPriceCents: 2900, limits: { seats: null, agents: null, tasks: null, memories: 500000, realtime_connections: 100 } });
    expect(plans[3]).toMatchObject({
      key: 'enterprise',
      monthlyPriceCents: null,
      apiRateLimitPerMinute: null,
      limits: { seats: null, agents: null, tasks: null, memories: null, realtime_connections: null },
      features: ['audit_log', 'custom_branding'],
    });
  });
});

describe('the Plans service', () => {
  it('answers limits per metric, null for unlimited and 0 for a metric the plan does not name', async () => {
    const { plans } = testApp.services;
    expect(await plans.limitFor('free', 'tasks')).toBe(1000);
    expect(await plans.limitFor('pro', 'agents')).toBe(5);
    expect(await plans.limitFor('promax', 'seats')).toBeNull();
    expect(await plans.limitFor('enterprise', 'tasks')).toBeNull();
    expect(await plans.limitFor('free', 'no_such_metric')).toBe(0);
  });

  it('answers the API rate limit per minute, null for unlimited', async () => {
    const { plans } = testApp.services;
    expect(await plans.rateLimitFor('free')).toBe(60);
    expect(await plans.rateLimitFor('pro')).toBe(600);
    expect(await plans.rateLimitFor('enterprise')).toBeNull();
  });

  it('throws UnknownPlanError for a plan that is not in the catalog', async () => {
    await expect(testApp.services.plans.limitFor('platinum', 'tasks')).rejects.toBeInstanceOf(UnknownPlanError);
    await expect(testApp.services.plans.rateLimitFor('platinum')).rejects.toBeInstanceOf(UnknownPlanError);
  });
});

describe('PATCH /v1/tenant/plan', () => {
  function changePlan(token: string, plan: unknown) {
    return testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(token), payload: { plan } });
  }

  it('changes the plan at once: the next request already acts on the new plan', async () => {
    const tenant = await signUp(testApp.app);
    const response = await changePlan(tenant.accessToken, 'pro');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ plan: 'pro', previousPlan: 'free', effective: 'now', pending: null });
    const { rows } = await testApp.database.admin.query('SELECT plan FROM tenants WHERE id = $1', [tenant.tenantId]);
    expect(rows[0].plan).toBe('pro');
  });

  it('writes an audit row with actor, before, after and request id in the same transaction', async () => {
    const tenant = await signUp(testApp.app);
    const response = await testApp.app.inject({
      method: 'PATCH',
      url: '/v1/tenant/plan',
      headers: { ...bearer(tenant.accessToken), 'x-request-id': 'plan-change-1' },
      payload: { plan: 'promax' },
    });
    expect(response.statusCode).toBe(200);
    const { rows } = await testApp.database.admin.query('SELECT actor, action, target, before, after, request_id FROM audit_log WHERE tenant_id = $1', [
      tenant.tenantId,
    ]);
    expect(rows).toEqual([
      {
        actor: `user:${tenant.userId}`,
        action: 'plan.changed',
        target: 'plan',
        before: { plan: 'free' },
        after: { plan: 'promax', cause: 'upgrade' },
        request_id: 'plan-change-1',
      },
    ]);
  });

  it('returns 400 for a plan that does not exist, and changes nothing', async () => {
    const tenant = await signUp(testApp.app);
    const body = expectProblem(await changePlan(tenant.accessToken, 'platinum'), 400, 'validation-failed');
    expect(body.field).toBe('plan');
    const { rows } = await testApp.database.admin.query('SELECT plan FROM tenants WHERE id = $1', [tenant.tenantId]);
    expect(rows[0].plan).toBe('free');
  });

  it('returns 403 to an admin (owner only) and to an API key of member role', async () => {
    const tenant = await signUp(testApp.app);
    const person = await signUp(testApp.app);
    await addExistingMember(testApp.app, tenant.accessToken, person, 'admin');
    const adminToken = (await login(testApp.app, person.email, person.password, tenant.slug)).json().accessToken;
    expectProblem(await changePlan(adminToken, 'pro'), 403, 'forbidden');
    const { rows } = await testApp.database.admin.query('SELECT plan FROM tenants WHERE id = $1', [tenant.tenantId]);
    expect(rows[0].plan).toBe('free');
  });

  it('is a no-op without an audit row when the plan is already the one asked for', async () => {
    const tenant = await signUp(testApp.app);
    expect((await changePlan(tenant.accessToken, 'free')).json()).toEqual({ plan: 'free', previousPlan: 'free', effective: 'unchanged', pending: null });
    const { rows } = await testApp.database.admin.query('SELECT count(*)::int AS n FROM audit_log WHERE tenant_id = $1', [tenant.tenantId]);
    expect(rows[0].n).toBe(0);
  });
});
