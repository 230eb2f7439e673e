// Dunning and read-only suspension, enforced where the data is: a failed payment makes a tenant
// past_due, the grace period's end suspends it (read-only: every write fails in PostgreSQL, by
// HTTP or through the scoped database helper; reads keep working), payment makes it active
// again. Every transition is audited and announced; the operator suspends and reactivates with a
// reason; no transition of one tenant touches another.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingState } from '../../src/billing/billing-state.js';
import type { BillingTables } from '../../src/billing/billing-tables.js';
import { AppError } from '../../src/http/problems.js';
import { enterTenant } from '../../src/tenancy/enter-tenant.js';
import { bearer, expectProblem, signUp, type SignedUpTenant } from '../support/fixtures.js';
import type { TestTables } from '../support/modules.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN_TOKEN = 'billing-operator-token-that-is-long-enough-0123';
const SYSTEM = { kind: 'system', name: 'billing', requestId: 'test:dunning' } as const;
const DAY_S = 86_400;

let testApp: TestApp;
let state: BillingState;

/** The dunning job's clock, `days` ahead of the app's (whose tokens must stay valid). */
function stateAfter(seconds: number): BillingState {
  const clock = { now: () => new Date(testApp.clock.now().getTime() + seconds * 1000) };
  return new BillingState(testApp.services.db.withTables<BillingTables>(), clock, 7, testApp.services.invalidation);
}

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN, TENANTRY_BILLING_GRACE_DAYS: '7' });
  state = stateAfter(0);
});

afterAll(async () => {
  await testApp.close();
});

const createProject = (token: string, name = 'a project') =>
  testApp.app.inject({ method: 'POST', url: '/v1/projects', headers: bearer(token), payload: { name } });

async function statusOf(tenantId: string): Promise<string> {
  const { rows } = await testApp.database.admin.query(`SELECT status FROM tenants WHERE id = $1`, [tenantId]);
  return rows[0].status;
}

async function projectCount(tenantId: string): Promise<number> {
  const { rows } = await testApp.database.admin.query(`SELECT count(*)::int AS n FROM projects WHERE tenant_id = $1`, [tenantId]);
  return rows[0].n;
}

/** Signs a tenant up and takes it through a failed payment and the whole grace period. */
async function suspendedTenant(): Promise<SignedUpTenant> {
  const tenant = await signUp(testApp.app);
  await state.apply(tenant.tenantId, 'payment_failed', SYSTEM);
  await stateAfter(7 * DAY_S + 1).suspendOverdue(SYSTEM);
  expect(await statusOf(tenant.tenantId)).toBe('suspended');
  return tenant;
}

describe('the dunning state machine', () => {
  it('moves active -> past_due on a failed payment and keeps the tenant writable through the grace period', async () => {
    const tenant = await signUp(testApp.app);
    const moved = await state.apply(tenant.tenantId, 'payment_failed', SYSTEM);
    expect(moved).toMatchObject({ from: 'active', to: 'past_due' });
    expect((await stateAfter(7 * DAY_S - 60).suspendOverdue(SYSTEM)).map((t) => t.tenantId)).not.toContain(tenant.tenantId);
    expect(await statusOf(tenant.tenantId)).toBe('past_due');
    expect((await createProject(tenant.accessToken)).statusCode).toBe(201);
  });

  it('suspends after the grace period, once: a re-run moves nobody again', async () => {
    const tenant = await signUp(testApp.app);
    await state.apply(tenant.tenantId, 'payment_failed', SYSTEM);
    const later = stateAfter(7 * DAY_S + 1);
    const first = await later.suspendOverdue(SYSTEM);
    const again = await later.suspendOverdue(SYSTEM);
    expect(first.filter((t) => t.tenantId === tenant.tenantId)).toEqual([
      { tenantId: tenant.tenantId, from: 'past_due', to: 'suspended', cause: 'grace_period_ended' },
    ]);
    expect(again.filter((t) => t.tenantId === tenant.tenantId)).toEqual([]);
  });

  it('a second failed payment does not restart the grace period', async () => {
    const tenant = await signUp(testApp.app);
    await state.apply(tenant.tenantId, 'payment_failed', SYSTEM);
    expect(await stateAfter(4 * DAY_S).apply(tenant.tenantId, 'payment_failed', SYSTEM)).toBeUndefined();
    await stateAfter(7 * DAY_S + 1).suspendOverdue(SYSTEM);
    expect(await statusOf(tenant.tenantId)).toBe('suspended');
  });

  it('audits every transition and announces it through the outbox, with the cache invalidation', async () => {
    const tenant = await suspendedTenant();
    await state.apply(tenant.tenantId, 'payment_succeeded', SYSTEM);
    const audit = await testApp.database.admin.query(
      `SELECT actor, action, before, after FROM audit_log WHERE tenant_id = $1 AND action = 'billing.state_changed' ORDER BY id`,
      [tenant.tenantId],
    );
    expect(audit.rows.map((row) => [row.actor, row.before.status, row.after.status, row.after.cause])).toEqual([
      ['system:billing', 'active', 'past_due', 'payment_failed'],
      ['system:billing', 'past_due', 'suspended', 'grace_period_ended'],
      ['system:billing', 'suspended', 'active', 'payment_succeeded'],
    ]);
    const outbox = await testApp.database.admin.query(`SELECT topic, payload FROM outbox WHERE tenant_id = $1 ORDER BY id`, [tenant.tenantId]);
    const announced = outbox.rows.filter((row) => row.topic === 'billing.state-changed').map((row) => [row.payload.from, row.payload.to]);
    expect(announced).toEqual([
      ['active', 'past_due'],
      ['past_due', 'suspended'],
      ['suspended', 'active'],
    ]);
    // This app evicts its own cache at once; other instances hear through the transport.
    expect(outbox.rows.filter((row) => row.topic === 'billing.state-changed')).toHaveLength(3);
  });
});

describe('a suspended tenant is read-only in the database', () => {
  it('refuses every write over HTTP with 423 tenant-read-only, by token and by API key, and writes nothing', async () => {
    const tenant = await suspendedTenant();
    const byToken = await createProject(tenant.accessToken, 'by token');
    const byKey = await createProject(tenant.apiKey, 'by key');
    const settings = await testApp.app.inject({
      method: 'PATCH',
      url: '/v1/tenant/settings',
      headers: bearer(tenant.accessToken),
      payload: { timeZone: 'Europe/Paris' },
    });
    const apiKey = await testApp.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(tenant.accessToken), payload: { name: 'k', role: 'viewer' } });
    for (const response of [byToken, byKey, apiKey, settings]) {
      const body = expectProblem(response, 423, 'tenant-read-only');
      expect(body).toMatchObject({ tenant_status: 'suspended', billing: '/v1/billing' });
      expect(String(body.detail)).toMatch(/paid/);
    }
    expect(await projectCount(tenant.tenantId)).toBe(0);
    const keys = await testApp.database.admin.query(`SELECT count(*)::int AS n FROM api_keys WHERE tenant_id = $1 AND name = 'k'`, [tenant.tenantId]);
    expect(keys.rows[0].n).toBe(0);
  });

  it('refuses a write through the scoped database helper (a job, the CLI), which reads nothing of the status itself', async () => {
    const tenant = await suspendedTenant();
    const db = testApp.services.db.withTables<TestTables>();
    const write = () =>
      enterTenant(tenant.tenantId, () =>
        db.tenant((tx) => tx.insertInto('projects').values({ id: crypto.randomUUID(), name: 'from a job', created_by: null }).execute()),
      );
    await expect(write()).rejects.toMatchObject({ code: 'tenant-read-only' });
    const statement = () =>
      enterTenant(tenant.tenantId, () =>
        db.tenantStatement((tx) => tx.insertInto('projects').values({ id: crypto.randomUUID(), name: 'one statement', created_by: null })),
      );
    await expect(statement()).rejects.toBeInstanceOf(AppError);
    await expect(statement()).rejects.toMatchObject({ code: 'tenant-read-only', status: 423 });
    expect(await projectCount(tenant.tenantId)).toBe(0);
    const reads = await enterTenant(tenant.tenantId, () => db.tenant((tx) => tx.selectFrom('projects').select('id').execute()));
    expect(Array.isArray(reads)).toBe(true);
  });

  it('keeps reads working', async () => {
    const tenant = await suspendedTenant();
    for (const url of ['/v1/projects', '/v1/members', '/v1/tenant/settings', '/v1/api-keys', '/v1/usage']) {
      const response = await testApp.app.inject({ method: 'GET', url, headers: bearer(tenant.accessToken) });
      expect({ url, status: response.statusCode }).toEqual({ url, status: 200 });
    }
  });

  it('takes writes again once paid', async () => {
    const tenant = await suspendedTenant();
    expectProblem(await createProject(tenant.accessToken), 423, 'tenant-read-only');
    await state.apply(tenant.tenantId, 'payment_succeeded', SYSTEM);
    const afterPayment = await createProject(tenant.accessToken, 'after payment');
    expect(afterPayment.statusCode).toBe(201);
    expect(await statusOf(tenant.tenantId)).toBe('active');
  });

  it("leaves every other tenant's writes alone", async () => {
    const other = await signUp(testApp.app);
    await suspendedTenant();
    expect((await createProject(other.accessToken, 'unaffected')).statusCode).toBe(201);
  });
});

describe('the operator', () => {
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

  it('suspends and reactivates a tenant with a reason, audited as the operator', async () => {
    const tenant = await signUp(testApp.app);
    const suspend = await testApp.app.inject({
      method: 'POST',
      url: `/v1/admin/tenants/${tenant.tenantId}/suspend`,
      headers: admin,
      payload: { reason: 'chargeback under review' },
    });
    expect(suspend.json()).toEqual({ tenantId: tenant.tenantId, status: 'suspended', changed: true });
    expectProblem(await createProject(tenant.accessToken), 423, 'tenant-read-only');
    const again = await testApp.app.inject({ method: 'POST', url: `/v1/admin/tenants/${tenant.tenantId}/suspend`, headers: admin, payload: { reason: 'twice' } });
    expect(again.json()).toMatchObject({ status: 'suspended', changed: false });
    const reactivate = await testApp.app.inject({
      method: 'POST',
      url: `/v1/admin/tenants/${tenant.tenantId}/reactivate`,
      headers: admin,
      payload: { reason: 'resolved' },
    });
    expect(reactivate.json()).toMatchObject({ status: 'active', changed: true });
    expect((await createProject(tenant.accessToken)).statusCode).toBe(201);
    const audit = await testApp.database.admin.query(
      `SELECT actor, after FROM audit_log WHERE tenant_id = $1 AND action = 'billing.state_changed' ORDER BY id`,
      [tenant.tenantId],
    );
    expect(audit.rows.map((row) => [row.actor, row.after.reason])).toEqual([
      ['platform_admin', 'chargeback under review'],
      ['platform_admin', 'resolved'],
    ]);
  });

  it('needs a reason, the operator credential and a tenant that exists', async () => {
    const tenant = await signUp(testApp.app);
    const url = `/v1/admin/tenants/${tenant.tenantId}/suspend`;
    expectProblem(await testApp.app.inject({ method: 'POST', url, headers: admin, payload: { reason: '  ' } }), 400, 'validation-failed');
    expectProblem(await testApp.app.inject({ method: 'POST', url, headers: bearer(tenant.accessToken), payload: { reason: 'mine' } }), 403, 'forbidden');
    expectProblem(
      await testApp.app.inject({ method: 'POST', url: `/v1/admin/tenants/${crypto.randomUUID()}/suspend`, headers: admin, payload: { reason: 'x' } }),
      404,
      'not-found',
    );
    expect(await statusOf(tenant.tenantId)).toBe('active');
  });
});
