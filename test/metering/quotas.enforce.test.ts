// Plan limits enforced before the action and atomically: 100 concurrent task creates against
// a remaining quota of 10 let exactly 10 through, and a free tenant's 1,001st task of the
// period is refused; seats past the plan answer 403 with the plan to upgrade to, when the
// invitation is sent and again when it is accepted; soft limits let calls through and warn
// once at 80% and 100%.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { billingPeriod } from '../../src/metering/billing-period.js';
import { acceptInvitation, bearer, expectProblem, invite, jwtClaims, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { useUpQuota } from './use-up-quota.js';

let testApp: TestApp;
const PLAN = 'metering_quota_test';

beforeAll(async () => {
  testApp = await startTestApp();
  // A plan with tiny limits, cheaper than every catalog plan; no rate limit, so only quotas refuse.
  await testApp.database.admin.query(
    `INSERT INTO plans (key, name, monthly_price_cents, limits, api_rate_limit_per_minute, sort_order)
     VALUES ($1, 'Quota test', 0, $2, NULL, 1)`,
    [PLAN, JSON.stringify({ tasks: 12, seats: 2, api_calls: 20 })],
  );
});

afterAll(async () => {
  await testApp.close();
});

async function tenantOnTestPlan(): Promise<SignedUpTenant & { projectId: string }> {
  return tenantOn(PLAN);
}

async function tenantOn(plan: string): Promise<SignedUpTenant & { projectId: string }> {
  const tenant = await signUp(testApp.app);
  await testApp.database.admin.query('UPDATE tenants SET plan = $2 WHERE id = $1', [tenant.tenantId, plan]);
  const project = await testApp.app.inject({ method: 'POST', url: '/v1/projects', headers: bearer(tenant.accessToken), payload: { name: 'Quota' } });
  expect(project.statusCode).toBe(201);
  return { ...tenant, projectId: project.json().id };
}

/** PATCH /v1/tenant/plan: every instance's caches follow at once. */
async function changePlan(tenant: SignedUpTenant, plan: string): Promise<void> {
  const changed = await testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(tenant.accessToken), payload: { plan } });
  expect(changed.statusCode).toBe(200);
}

function createTask(tenant: SignedUpTenant & { projectId: string }, title: string) {
  return testApp.app.inject({
    method: 'POST',
    url: '/v1/tasks',
    headers: bearer(tenant.accessToken),
    payload: { projectId: tenant.projectId, title },
  });
}

/** Invites the email (the invitation holds a seat) and accepts it as a new account (the member takes it). */
async function addMember(tenant: SignedUpTenant, email: string) {
  const invited = await invite(testApp.app, tenant.accessToken, email, 'member');
  expect(invited.statusCode).toBe(201);
  return accept(invited.json().invitationToken);
}

function accept(invitationToken: string) {
  return acceptInvitation(testApp.app, invitationToken, { name: 'Seat', password: 'seat password 123' });
}

async function count(sql: string, tenantId: string): Promise<number> {
  const { rows } = await testApp.database.admin.query(sql, [tenantId]);
  return Number(rows[0].n);
}

describe('task quota (hard, resets each billing period)', () => {
  it('lets exactly 10 of 100 concurrent creates through when 10 remain', async () => {
    const tenant = await tenantOnTestPlan();
    for (const title of ['one', 'two']) expect((await createTask(tenant, title)).statusCode).toBe(201);

    const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => createTask(tenant, `race ${i}`)));
    const statuses = responses.map((response) => response.statusCode);
    expect(statuses.filter((status) => status === 201)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(90);

    expect(await count('SELECT count(*) AS n FROM tasks WHERE tenant_id = $1', tenant.tenantId)).toBe(12);
    expect(await count("SELECT used AS n FROM usage_counters WHERE tenant_id = $1 AND metric = 'tasks'", tenant.tenantId)).toBe(12);
    expect(await count("SELECT count(*) AS n FROM usage_events WHERE tenant_id = $1 AND metric = 'tasks'", tenant.tenantId)).toBe(12);
  });

  it('answers 429 with limit, current and Retry-After counting down to the period reset', async () => {
    const tenant = await tenantOnTestPlan();
    for (let i = 0; i < 12; i++) expect((await createTask(tenant, `t${i}`)).statusCode).toBe(201);
    const sent = testApp.clock.now();
    const refused = await createTask(tenant, 'one too many');
    const answered = testApp.clock.now();
    const body = expectProblem(refused, 429, 'quota-exceeded');
    expect(body).toMatchObject({ metric: 'tasks', limit: 12, current: 12 });
    const { rows } = await testApp.database.admin.query('SELECT created_at FROM tenants WHERE id = $1', [tenant.tenantId]);
    const period = billingPeriod(rows[0].created_at, sent);
    // Whole seconds until the reset, counted at some moment while the request ran, however long it took.
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(Math.floor((period.end.getTime() - answered.getTime()) / 1000));
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil((period.end.getTime() - sent.getTime()) / 1000));
    expect(body.retry_after).toBe(retryAfter);
    expect(body.period_end).toBe(period.end.toISOString());
  });

  it('gives the quota back when the create fails for another reason', async () => {
    const tenant = await tenantOnTestPlan();
    const bad = await testApp.app.inject({
      method: 'POST',
      url: '/v1/tasks',
      headers: bearer(tenant.accessToken),
      payload: { projectId: crypto.randomUUID(), title: 'nowhere' },
    });
    expect(bad.statusCode).toBe(400);
    expect(await count("SELECT coalesce(sum(used), 0) AS n FROM usage_counters WHERE tenant_id = $1 AND metric = 'tasks'", tenant.tenantId)).toBe(0);
  });

  it("refuses a free tenant's task past the free plan's 1,000 per period", async () => {
    const tenant = await tenantOn('free');
    await useUpQuota(testApp, tenant.tenantId, 'tasks', 999);
    expect((await createTask(tenant, 'the thousandth')).statusCode).toBe(201);
    const body = expectProblem(await createTask(tenant, 'the 1,001st'), 429, 'quota-exceeded');
    expect(body).toMatchObject({ metric: 'tasks', limit: 1000, current: 1000 });
    expect(await count('SELECT count(*) AS n FROM tasks WHERE tenant_id = $1', tenant.tenantId)).toBe(1);
  });

  it('lets a promax tenant create tasks without a limit', async () => {
    const tenant = await tenantOn('promax');
    await useUpQuota(testApp, tenant.tenantId, 'tasks', 10_000_000);
    expect((await createTask(tenant, 'unlimited')).statusCode).toBe(201);
  });

  it('warns once at 80% and once at 100% of the limit', async () => {
    const tenant = await tenantOnTestPlan();
    for (let i = 0; i < 13; i++) await createTask(tenant, `w${i}`);
    const { rows } = await testApp.database.admin.query(
      "SELECT threshold, used::int FROM usage_warnings WHERE tenant_id = $1 AND metric = 'tasks' ORDER BY threshold",
      [tenant.tenantId],
    );
    expect(rows).toEqual([
      { threshold: 80, used: 10 },
      { threshold: 100, used: 12 },
    ]);
  });
});

describe('seat limit (hard, never resets)', () => {
  it('refuses the invitation that would pass the seats with 403 plan-limit-reached, the plan to upgrade to, and no Retry-After', async () => {
    const tenant = await tenantOnTestPlan();
    expect((await addMember(tenant, `a-${tenant.slug}@example.test`)).statusCode).toBe(200);
    const refused = await invite(testApp.app, tenant.accessToken, `b-${tenant.slug}@example.test`, 'member');
    const body = expectProblem(refused, 403, 'plan-limit-reached');
    expect(body).toMatchObject({ metric: 'seats', limit: 2, current: 2, required_plan: 'free' });
    expect(refused.headers['retry-after']).toBeUndefined();
    expect(await count('SELECT count(*) AS n FROM invitations WHERE tenant_id = $1 AND accepted_at IS NULL', tenant.tenantId)).toBe(0);
  });

  it('counts open invitations as seats taken: the owner and one invitation fill a plan of two', async () => {
    const tenant = await tenantOnTestPlan();
    expect((await invite(testApp.app, tenant.accessToken, `open-${tenant.slug}@example.test`, 'member')).statusCode).toBe(201);
    const body = expectProblem(await invite(testApp.app, tenant.accessToken, `more-${tenant.slug}@example.test`, 'member'), 403, 'plan-limit-reached');
    expect(body).toMatchObject({ metric: 'seats', limit: 2, current: 2 });
  });

  it('still refuses an acceptance past the seats, when the plan shrank after the invitations were sent', async () => {
    const tenant = await tenantOnTestPlan();
    await changePlan(tenant, 'pro');
    const tokens = [];
    for (const name of ['x', 'y']) tokens.push((await invite(testApp.app, tenant.accessToken, `${name}-${tenant.slug}@example.test`, 'member')).json().invitationToken);
    await changePlan(tenant, PLAN);
    expect((await accept(tokens[0])).statusCode).toBe(200);
    const body = expectProblem(await accept(tokens[1]), 403, 'plan-limit-reached');
    expect(body).toMatchObject({ metric: 'seats', limit: 2, current: 2, required_plan: 'free' });
    expect(await count('SELECT count(*) AS n FROM memberships WHERE tenant_id = $1', tenant.tenantId)).toBe(2);
    const { rows } = await testApp.database.admin.query('SELECT count(*)::int AS n FROM users WHERE email = $1', [`y-${tenant.slug}@example.test`]);
    expect(rows[0].n).toBe(0);
  });

  it('frees the seat when a member is removed', async () => {
    const tenant = await tenantOnTestPlan();
    const added = await addMember(tenant, `c-${tenant.slug}@example.test`);
    const userId = jwtClaims(added.json().accessToken).sub;
    const removed = await testApp.app.inject({ method: 'DELETE', url: `/v1/members/${userId}`, headers: bearer(tenant.accessToken) });
    expect(removed.statusCode).toBe(204);
    expect((await addMember(tenant, `d-${tenant.slug}@example.test`)).statusCode).toBe(200);
    const { rows } = await testApp.database.admin.query(
      "SELECT quantity::int FROM usage_events WHERE tenant_id = $1 AND metric = 'seats' ORDER BY created_at, quantity",
      [tenant.tenantId],
    );
    expect(rows.map((row) => row.quantity)).toEqual([2, 1, 2]);
  });

  it('sends exactly one of 30 concurrent invitations for the last seat', async () => {
    const tenant = await tenantOnTestPlan();
    const responses = await Promise.all(Array.from({ length: 30 }, (_, i) => invite(testApp.app, tenant.accessToken, `i${i}-${tenant.slug}@example.test`, 'member')));
    expect(responses.filter((response) => response.statusCode === 201)).toHaveLength(1);
    expect(responses.filter((response) => response.statusCode === 403)).toHaveLength(29);
    expect(await count('SELECT count(*) AS n FROM invitations WHERE tenant_id = $1', tenant.tenantId)).toBe(1);
  });

  it('admits exactly one of 10 concurrent acceptances for the last seat', async () => {
    const tenant = await tenantOnTestPlan();
    // Sent while the plan had room for all of them; the plan then shrank to one free seat.
    await changePlan(tenant, 'promax');
    const invitations = await Promise.all(Array.from({ length: 10 }, (_, i) => invite(testApp.app, tenant.accessToken, `r${i}-${tenant.slug}@example.test`, 'member')));
    await changePlan(tenant, PLAN);
    const responses = await Promise.all(invitations.map((invited) => accept(invited.json().invitationToken)));
    expect(responses.filter((response) => response.statusCode === 200)).toHaveLength(1);
    expect(responses.filter((response) => response.statusCode === 403)).toHaveLength(9);
    expect(await count('SELECT count(*) AS n FROM memberships WHERE tenant_id = $1 AND deleted_at IS NULL', tenant.tenantId)).toBe(2);
  });
});

describe('API-call quota (soft)', () => {
  it('lets every call through and warns once at 80% and 100%', async () => {
    const tenant = await tenantOnTestPlan();
    const responses = [];
    for (let i = 0; i < 30; i++) {
      responses.push(await testApp.app.inject({ method: 'GET', url: '/v1/members', headers: bearer(tenant.accessToken) }));
    }
    expect(responses.every((response) => response.statusCode === 200)).toBe(true);
    await testApp.services.metering.apiCalls.flush();
    const { rows } = await testApp.database.admin.query(
      "SELECT threshold FROM usage_warnings WHERE tenant_id = $1 AND metric = 'api_calls' ORDER BY threshold",
      [tenant.tenantId],
    );
    expect(rows).toEqual([{ threshold: 80 }, { threshold: 100 }]);
    // Every call of this tenant is counted (the project create in the set-up too), in one
    // event per flush rather than a row per call.
    expect(await count("SELECT sum(quantity) AS n FROM usage_events WHERE tenant_id = $1 AND metric = 'api_calls'", tenant.tenantId)).toBe(31);
    expect(await count("SELECT count(*) AS n FROM usage_events WHERE tenant_id = $1 AND metric = 'api_calls'", tenant.tenantId)).toBeLessThanOrEqual(2);
  });
});

describe('a deleted tenant', () => {
  it('gets no usage written after its deletion, not even for the request that deleted it', async () => {
    const tenant = await tenantOnTestPlan();
    const deleted = await testApp.app.inject({ method: 'DELETE', url: '/v1/tenant', headers: bearer(tenant.accessToken), payload: { confirm: tenant.slug } });
    expect(deleted.statusCode).toBe(200);
    await testApp.services.metering.apiCalls.flush();
    expect(await count('SELECT count(*) AS n FROM usage_events WHERE tenant_id = $1 AND deleted_at IS NULL', tenant.tenantId)).toBe(0);
  });
});
