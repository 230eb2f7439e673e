// Plan changes: an upgrade applies at once; a downgrade applies at once when usage fits, waits
// for the period's end when this period's usage is over (visible in GET /v1/billing, cancelled
// by choosing the current plan), and is refused with what is over when a level is. The
// period-end job applies waiting downgrades once. Two concurrent changes end in one consistent
// state. Every change is audited, announced (outbox and tenant webhooks) and told to the
// provider seam; no tenant changes another's plan; the operator changes any, with a reason.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingState } from '../../src/billing/billing-state.js';
import type { BillingTables } from '../../src/billing/billing-tables.js';
import { PlanChanges } from '../../src/billing/plan-changes/plan-changes.js';
import type { PlanChangeEffective } from '../../src/billing/plan-changes/subscription-changer.js';
import { platformTx } from '../../src/db/database.js';
import { enterTenant } from '../../src/tenancy/enter-tenant.js';
import { addExistingMember, bearer, expectProblem, login, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN_TOKEN = 'plan-changes-operator-token-long-enough-0123456';
const SYSTEM = { kind: 'system', name: 'billing', requestId: 'test:plan-changes' } as const;
const DAY_S = 86_400;

let testApp: TestApp;
const told: Array<{ tenantId: string; plan: string; effective: PlanChangeEffective }> = [];

/** The use case as the module builds it, with a provider seam that records what it is told. */
function changesAt(offsetSeconds = 0): PlanChanges {
  const clock = { now: () => new Date(testApp.clock.now().getTime() + offsetSeconds * 1000) };
  return new PlanChanges(testApp.services.db.withTables<BillingTables>(), clock, async (_tx, tenantId, plan, effective) => {
    told.push({ tenantId, plan, effective });
  });
}

beforeAll(async () => {
  testApp = await startTestApp({
    TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN,
    TENANTRY_WEBHOOK_SECRET_KEY: randomBytes(32).toString('base64'),
    TENANTRY_WEBHOOK_ALLOW_HTTP: 'true',
    TENANTRY_WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1',
  });
});

afterAll(async () => {
  await testApp.close();
});

const changePlan = (token: string, plan: unknown, headers: Record<string, string> = {}) =>
  testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: { ...bearer(token), ...headers }, payload: { plan } });
/** As a client that follows the problem's advice: an access-changed answer did nothing, so send it again. */
async function changePlanResent(token: string, plan: string) {
  const first = await changePlan(token, plan);
  if (first.statusCode !== 409) return first;
  expectProblem(first, 409, 'access-changed');
  return changePlan(token, plan);
}
const operatorChange = (tenantId: string, payload: object, token = ADMIN_TOKEN) =>
  testApp.app.inject({ method: 'POST', url: `/v1/admin/tenants/${tenantId}/plan`, headers: bearer(token), payload });
const billing = async (token: string) => (await testApp.app.inject({ method: 'GET', url: '/v1/billing', headers: bearer(token) })).json();

async function planOf(tenantId: string): Promise<string> {
  const { rows } = await testApp.database.admin.query('SELECT plan FROM tenants WHERE id = $1', [tenantId]);
  return rows[0].plan;
}

async function auditOf(tenantId: string, prefix = 'plan.') {
  const { rows } = await testApp.database.admin.query(
    `SELECT actor, action, before, after FROM audit_log WHERE tenant_id = $1 AND action LIKE $2 ORDER BY created_at, id`,
    [tenantId, `${prefix}%`],
  );
  return rows;
}

async function tenantOn(plan: string): Promise<SignedUpTenant> {
  const tenant = await signUp(testApp.app);
  if (plan !== 'free') expect((await changePlan(tenant.accessToken, plan)).statusCode).toBe(200);
  return tenant;
}

/** Takes `amount` tasks of this period's quota, as creating tasks would. */
function takeTasks(tenant: SignedUpTenant, amount: number): Promise<void> {
  return enterTenant(tenant.tenantId, () =>
    testApp.services.db.tenant((tx) => testApp.services.metering.quotas.take(platformTx(tx), { tenantId: tenant.tenantId }, 'tasks', amount)),
  );
}

/** A plan below free whose only seat is the owner's. */
async function tinyPlan(): Promise<string> {
  const key = `tiny_${randomBytes(3).toString('hex')}`;
  const created = await testApp.app.inject({
    method: 'POST',
    url: '/v1/admin/plans',
    headers: bearer(ADMIN_TOKEN),
    payload: { key, name: 'Tiny', monthlyPriceCents: 0, limits: { seats: 1, tasks: 10 }, apiRateLimitPerMinute: 60, sortOrder: 5 },
  });
  expect(created.statusCode).toBe(201);
  return key;
}

describe('PATCH /v1/tenant/plan', () => {
  it('applies an upgrade at once: audited, announced to billing and the tenant\'s webhooks, told to the provider', async () => {
    const tenant = await signUp(testApp.app);
    const endpoint = await testApp.app.inject({
      method: 'POST',
      url: '/v1/webhooks/endpoints',
      headers: bearer(tenant.accessToken),
      payload: { url: 'http://127.0.0.1:9/hook', eventTypes: ['plan.changed'] },
    });
    expect(endpoint.statusCode).toBe(201);
    const response = await changePlan(tenant.accessToken, 'pro');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ plan: 'pro', previousPlan: 'free', effective: 'now', pending: null });
    expect(await planOf(tenant.tenantId)).toBe('pro');
    expect(await auditOf(tenant.tenantId)).toEqual([
      { actor: `user:${tenant.userId}`, action: 'plan.changed', before: { plan: 'free' }, after: { plan: 'pro', cause: 'upgrade' } },
    ]);
    const outbox = await testApp.database.admin.query(`SELECT payload FROM outbox WHERE tenant_id = $1 AND topic = 'billing.plan-changed'`, [tenant.tenantId]);
    expect(outbox.rows).toEqual([{ payload: expect.objectContaining({ from: 'free', to: 'pro', cause: 'upgrade' }) }]);
    const events = await testApp.database.admin.query(
      `SELECT e.type, e.data, count(d.id)::int AS deliveries FROM webhook_events e LEFT JOIN webhook_deliveries d ON d.tenant_id = e.tenant_id AND d.event_id = e.id
        WHERE e.tenant_id = $1 GROUP BY e.tenant_id, e.id`,
      [tenant.tenantId],
    );
    expect(events.rows).toEqual([{ type: 'plan.changed', data: expect.objectContaining({ from: 'free', to: 'pro' }), deliveries: 1 }]);
  });

  it('applies a downgrade at once when the usage fits the smaller plan', async () => {
    const tenant = await tenantOn('pro');
    await takeTasks(tenant, 10);
    const response = await changePlan(tenant.accessToken, 'free');
    expect(response.json()).toEqual({ plan: 'free', previousPlan: 'pro', effective: 'now', pending: null });
    expect(await planOf(tenant.tenantId)).toBe('free');
  });

  it("waits for the period's end when this period's usage is over, shows it in GET /v1/billing, and cancels it when the current plan is chosen", async () => {
    const tenant = await tenantOn('pro');
    await takeTasks(tenant, 1200);
    const scheduled = await changePlan(tenant.accessToken, 'free');
    expect(scheduled.statusCode).toBe(200);
    const periodEnd = (await billing(tenant.accessToken)).period.end;
    expect(scheduled.json()).toEqual({ plan: 'pro', previousPlan: 'pro', effective: 'period-end', pending: { plan: 'free', at: periodEnd } });
    expect(await planOf(tenant.tenantId)).toBe('pro');
    expect((await billing(tenant.accessToken)).pendingPlanChange).toEqual({ plan: 'free', at: periodEnd });

    const cancelled = await changePlan(tenant.accessToken, 'pro');
    expect(cancelled.json()).toEqual({ plan: 'pro', previousPlan: 'pro', effective: 'unchanged', pending: null });
    expect((await billing(tenant.accessToken)).pendingPlanChange).toBeNull();
    expect((await auditOf(tenant.tenantId)).map((row) => row.action)).toEqual(['plan.changed', 'plan.change_scheduled', 'plan.change_cancelled']);
  });

  it('refuses a downgrade that leaves a level above the new limit with what is over (409), and changes nothing', async () => {
    const tiny = await tinyPlan();
    const tenant = await signUp(testApp.app);
    const person = await signUp(testApp.app);
    await addExistingMember(testApp.app, tenant.accessToken, person, 'member');
    const before = await auditOf(tenant.tenantId);
    const body = expectProblem(await changePlan(tenant.accessToken, tiny), 409, 'usage-over-plan-limits');
    expect(body.over).toEqual([{ metric: 'seats', current: 2, limit: 1, resets_at: null }]);
    expect(await planOf(tenant.tenantId)).toBe('free');
    expect(await auditOf(tenant.tenantId)).toEqual(before);
    expect((await billing(tenant.accessToken)).pendingPlanChange).toBeNull();
  });

  it('answers problem+json for bad input and changes nothing: an unknown plan (400), a number (400), a retired plan (409)', async () => {
    const tenant = await signUp(testApp.app);
    expect(expectProblem(await changePlan(tenant.accessToken, 'platinum'), 400, 'validation-failed').field).toBe('plan');
    expectProblem(await changePlan(tenant.accessToken, 5), 400, 'validation-failed');
    const tiny = await tinyPlan();
    const retired = await testApp.app.inject({ method: 'POST', url: `/v1/admin/plans/${tiny}/retire`, headers: bearer(ADMIN_TOKEN), payload: { reason: 'test' } });
    expect(retired.statusCode).toBe(200);
    expectProblem(await changePlan(tenant.accessToken, tiny), 409, 'plan-retired');
    expect(await planOf(tenant.tenantId)).toBe('free');
    expect(await auditOf(tenant.tenantId)).toEqual([]);
  });

  it('answers 423 to a suspended tenant and changes nothing', async () => {
    const tenant = await signUp(testApp.app);
    const state = new BillingState(testApp.services.db.withTables<BillingTables>(), testApp.clock, 7, testApp.services.invalidation);
    await state.suspend(tenant.tenantId, { kind: 'platform_admin', requestId: 'test' }, 'test');
    expectProblem(await changePlan(tenant.accessToken, 'pro'), 423, 'tenant-read-only');
    expect(await planOf(tenant.tenantId)).toBe('free');
  });

  it('ends two concurrent changes of one tenant in one consistent state: each decided on what the other left', async () => {
    const tenant = await signUp(testApp.app);
    await billing(tenant.accessToken); // both changes act on the cached access, so each is checked
    // A change whose check runs after the other change committed finds the plan it acted on gone:
    // 409 access-changed, nothing done, send it again. The client here does so.
    const [a, b] = await Promise.all([changePlanResent(tenant.accessToken, 'pro'), changePlanResent(tenant.accessToken, 'promax')]);
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    const audit = (await auditOf(tenant.tenantId)).filter((row) => row.action === 'plan.changed');
    expect(audit).toHaveLength(2);
    expect(audit[0].before.plan).toBe('free');
    expect(audit[1].before.plan).toBe(audit[0].after.plan);
    expect(await planOf(tenant.tenantId)).toBe(audit[1].after.plan);
    const answered = [a.json(), b.json()].sort((x, y) => (x.previousPlan === 'free' ? -1 : y.previousPlan === 'free' ? 1 : 0));
    expect(answered[1].previousPlan).toBe(answered[0].plan);
  });
});

describe('who may change a plan', () => {
  it('refuses an admin (owner only) and a forged tenant header: the other tenant is never changed', async () => {
    const a = await signUp(testApp.app);
    const b = await signUp(testApp.app);
    const person = await signUp(testApp.app);
    await addExistingMember(testApp.app, a.accessToken, person, 'admin');
    const adminOfA = (await login(testApp.app, person.email, person.password, a.slug)).json().accessToken;
    expectProblem(await changePlan(adminOfA, 'pro'), 403, 'forbidden');
    expectProblem(await changePlan(adminOfA, 'pro', { 'x-tenant-id': b.tenantId }), 403);
    expectProblem(await changePlan(a.accessToken, 'pro', { 'x-tenant-id': b.tenantId }), 403, 'tenant-mismatch');
    expectProblem(await changePlan(a.apiKey, 'pro', { 'x-tenant-id': b.slug }), 403);
    for (const tenant of [a, b]) {
      expect(await planOf(tenant.tenantId)).toBe('free');
      expect(await auditOf(tenant.tenantId)).toEqual([]);
    }
  });

  it('lets the operator change any tenant at once with a reason, audited; a tenant credential is refused there', async () => {
    const tenant = await signUp(testApp.app);
    const other = await signUp(testApp.app);
    expectProblem(await operatorChange(tenant.tenantId, { plan: 'enterprise', reason: 'contract' }, other.accessToken), 403);
    expectProblem(await operatorChange(tenant.tenantId, { plan: 'enterprise' }), 400, 'validation-failed');
    expectProblem(await operatorChange('0190a5b0-0000-7000-8000-000000000000', { plan: 'enterprise', reason: 'contract' }), 404, 'not-found');
    expect(await planOf(tenant.tenantId)).toBe('free');
    const response = await operatorChange(tenant.tenantId, { plan: 'enterprise', reason: 'signed a contract' });
    expect(response.json()).toEqual({ plan: 'enterprise', previousPlan: 'free', effective: 'now', pending: null });
    expect(await auditOf(tenant.tenantId)).toEqual([
      { actor: 'platform_admin', action: 'plan.changed', before: { plan: 'free' }, after: { plan: 'enterprise', cause: 'operator', reason: 'signed a contract' } },
    ]);
    expect(await planOf(other.tenantId)).toBe('free');
  });
});

describe('the period-end job', () => {
  it('applies a waiting downgrade once its period has ended, once, and tells the provider only when it was asked', async () => {
    const tenant = await tenantOn('pro');
    await takeTasks(tenant, 1200);
    told.length = 0;
    const now = changesAt();
    // Outside a request, the caller enters the tenant (as the edge does).
    const owner = { kind: 'user', userId: tenant.userId, tenantId: tenant.tenantId, role: 'owner', plan: 'pro', requestId: 'test:job' } as const;
    const outcome = await enterTenant(tenant.tenantId, () => now.request(owner, 'free'));
    expect(outcome.effective).toBe('period-end');
    expect(told).toEqual([{ tenantId: tenant.tenantId, plan: 'free', effective: 'period-end' }]);

    expect((await changesAt().applyDue(SYSTEM)).filter((change) => change.tenantId === tenant.tenantId)).toEqual([]);
    const later = changesAt(32 * DAY_S);
    expect((await later.applyDue(SYSTEM)).filter((change) => change.tenantId === tenant.tenantId)).toEqual([{ tenantId: tenant.tenantId, from: 'pro', to: 'free' }]);
    expect((await later.applyDue(SYSTEM)).filter((change) => change.tenantId === tenant.tenantId)).toEqual([]);
    expect(await planOf(tenant.tenantId)).toBe('free');
    expect(told).toHaveLength(1);
    const applied = (await auditOf(tenant.tenantId)).at(-1);
    expect(applied).toMatchObject({ actor: 'system:billing', action: 'plan.changed', after: { plan: 'free', cause: 'scheduled_downgrade' } });
  });
});
