// The local provider's invoices: a closed period is priced from the plan and the period's
// metered usage, issued once however often (or however concurrently) the period-end run goes,
// shown to the tenant's admins with the upcoming invoice and projected cost, and paid, failed
// or voided by the operator, which drives dunning. Another tenant's invoice is not found.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BillingTables } from '../../src/billing/billing-tables.js';
import { PeriodClosing } from '../../src/billing/close-periods.js';
import { addNewMember, bearer, expectProblem, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN_TOKEN = 'billing-operator-token-that-is-long-enough-4567';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

let testApp: TestApp;
let closing: PeriodClosing;

beforeAll(async () => {
  testApp = await startTestApp({ TENANTRY_PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
  closing = new PeriodClosing(testApp.services.db.withTables<BillingTables>(), testApp.clock, testApp.services.config.usageGraceHours);
});

afterAll(async () => {
  await testApp.close();
});

/** A tenant on `plan` whose subscription began 40 days ago, with `apiCalls` metered in its first period. */
async function tenantWithClosedPeriod(plan: string, apiCalls: number): Promise<SignedUpTenant & { periodStart: Date }> {
  const tenant = await signUp(testApp.app);
  if (plan !== 'free') {
    const changed = await testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(tenant.accessToken), payload: { plan } });
    expect(changed.statusCode).toBe(200);
  }
  const { rows } = await testApp.database.admin.query(
    `UPDATE tenants SET billing_anchor = date_trunc('hour', now() - interval '40 days') WHERE id = $1 RETURNING billing_anchor`,
    [tenant.tenantId],
  );
  const periodStart: Date = rows[0].billing_anchor;
  // The plan was chosen when the subscription began, not today.
  await testApp.database.admin.query(`UPDATE billing_plan_changes SET changed_at = $2 WHERE tenant_id = $1`, [tenant.tenantId, periodStart]);
  // What the rollup writes for the period: hourly buckets (two here), as metering produces them.
  const half = Math.floor(apiCalls / 2);
  await testApp.database.admin.query(
    `INSERT INTO usage_rollups (tenant_id, metric, granularity, bucket_start, event_count, quantity_sum, quantity_max)
     VALUES ($1, 'api_calls', 'hour', $2, $3::bigint, $3::numeric, 1), ($1, 'api_calls', 'hour', $2::timestamptz + interval '5 days', $4::bigint, $4::numeric, 1)`,
    [tenant.tenantId, periodStart, half, apiCalls - half],
  );
  return { ...tenant, periodStart };
}

async function invoicesOf(tenantId: string) {
  const { rows } = await testApp.database.admin.query(`SELECT id, status, total_cents FROM billing_invoices WHERE tenant_id = $1`, [tenantId]);
  return rows;
}

describe('closing a period', () => {
  it('prices the plan and the metered overage into lines, and issues the invoice open', async () => {
    const tenant = await tenantWithClosedPeriod('pro', 1_250_000);
    const issued = (await closing.closeDue()).filter((invoice) => invoice.tenantId === tenant.tenantId);
    expect(issued).toHaveLength(1);
    // Pro: 1500 cents, 1,000,000 calls included, 250,000 more at 10 millicents = 2500 cents.
    expect(issued[0]).toMatchObject({ totalCents: 4000, periodStart: tenant.periodStart });
    const invoice = await testApp.app.inject({ method: 'GET', url: `/v1/billing/invoices/${issued[0]!.invoiceId}`, headers: bearer(tenant.accessToken) });
    expect(invoice.json()).toMatchObject({
      status: 'open',
      plan: 'pro',
      totalCents: 4000,
      lines: [
        { kind: 'plan', amountCents: 1500, quantity: 1 },
        { kind: 'overage', metric: 'api_calls', quantity: 250_000, included: 1_000_000, unitPriceMillicents: 10, amountCents: 2500 },
      ],
    });
    const outbox = await testApp.database.admin.query(`SELECT payload FROM outbox WHERE tenant_id = $1 AND topic = 'billing.invoice-issued'`, [tenant.tenantId]);
    expect(outbox.rows.map((row) => row.payload)).toEqual([expect.objectContaining({ invoiceId: issued[0]!.invoiceId, totalCents: 4000 })]);
  });

  it('issues each period once: re-runs and concurrent runs find it issued', async () => {
    const tenant = await tenantWithClosedPeriod('pro', 10);
    const runs = await Promise.all([closing.closeDue(), closing.closeDue(), closing.closeDue()]);
    await closing.closeDue();
    expect(runs.flat().filter((invoice) => invoice.tenantId === tenant.tenantId)).toHaveLength(1);
    expect(await invoicesOf(tenant.tenantId)).toEqual([expect.objectContaining({ status: 'open', total_cents: '1500' })]);
  });

  it('settles an invoice with nothing to collect at once: a free tenant never enters dunning', async () => {
    const tenant = await tenantWithClosedPeriod('free', 50_000);
    await closing.closeDue();
    expect(await invoicesOf(tenant.tenantId)).toEqual([expect.objectContaining({ status: 'paid', total_cents: '0' })]);
  });

  it('does not invoice a period that has not closed (nor one whose late usage may still arrive)', async () => {
    const tenant = await signUp(testApp.app);
    await closing.closeDue();
    expect(await invoicesOf(tenant.tenantId)).toEqual([]);
  });
});

describe('a period on more than one plan', () => {
  async function planLines(tenantId: string) {
    const { rows } = await testApp.database.admin.query(
      `SELECT l.kind, l.description, l.amount_cents::int AS amount, i.plan, i.total_cents::int AS total
         FROM billing_invoice_lines l JOIN billing_invoices i ON i.tenant_id = l.tenant_id AND i.id = l.invoice_id
        WHERE l.tenant_id = $1 ORDER BY l.position`,
      [tenantId],
    );
    return rows;
  }

  it('bills each stretch at its plan, prorated by time: free for 10 days, then pro', async () => {
    const tenant = await tenantWithClosedPeriod('free', 0);
    const periodEnd = new Date(tenant.periodStart);
    periodEnd.setUTCMonth(periodEnd.getUTCMonth() + 1);
    expect((await testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(tenant.accessToken), payload: { plan: 'pro' } })).statusCode).toBe(200);
    // The upgrade happened ten days into the period.
    const upgradedAt = new Date(tenant.periodStart.getTime() + 10 * 86_400_000);
    await testApp.database.admin.query(`UPDATE billing_plan_changes SET changed_at = $2 WHERE tenant_id = $1 AND to_plan = 'pro'`, [tenant.tenantId, upgradedAt]);
    await closing.closeDue();
    const periodMs = periodEnd.getTime() - tenant.periodStart.getTime();
    const periodDays = Math.round((periodMs / 86_400_000) * 100) / 100;
    const proDays = Math.round(((periodEnd.getTime() - upgradedAt.getTime()) / 86_400_000) * 100) / 100;
    const proCents = Math.round((1500 * (periodEnd.getTime() - upgradedAt.getTime())) / periodMs);
    const lines = await planLines(tenant.tenantId);
    expect(lines.filter((line) => line.kind === 'plan')).toEqual([
      { kind: 'plan', description: `Free plan, 10 of ${periodDays} days`, amount: 0, plan: 'pro', total: proCents },
      { kind: 'plan', description: `Pro plan, ${proDays} of ${periodDays} days`, amount: proCents, plan: 'pro', total: proCents },
    ]);
  });

  it("GET /v1/billing's upcoming invoice splits the running period the same way", async () => {
    const tenant = await signUp(testApp.app);
    expect((await testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(tenant.accessToken), payload: { plan: 'pro' } })).statusCode).toBe(200);
    const overview = (await testApp.app.inject({ method: 'GET', url: '/v1/billing', headers: bearer(tenant.accessToken) })).json();
    const planLines = overview.upcomingInvoice.lines.filter((line: { kind: string }) => line.kind === 'plan');
    // Free from the period's start (the tenant's creation hour) until just now, pro for the rest.
    expect(planLines).toEqual([
      expect.objectContaining({ description: expect.stringMatching(/^Free plan, [\d.]+ of [\d.]+ days$/), amountCents: 0 }),
      expect.objectContaining({ description: expect.stringMatching(/^Pro plan, [\d.]+ of [\d.]+ days$/), amountCents: expect.any(Number) }),
    ]);
    expect(planLines[1].amountCents).toBeGreaterThan(1400);
    expect(planLines[1].amountCents).toBeLessThanOrEqual(1500);
  });

  it('a change after the period ended (before it was invoiced) does not reach it: the period is billed at the plan it had', async () => {
    const tenant = await tenantWithClosedPeriod('pro', 0);
    // Downgraded today: ten days after that period ended, before the period-end job ran.
    expect((await testApp.app.inject({ method: 'PATCH', url: '/v1/tenant/plan', headers: bearer(tenant.accessToken), payload: { plan: 'free' } })).json().plan).toBe('free');
    await closing.closeDue();
    const lines = await planLines(tenant.tenantId);
    expect(lines.filter((line) => line.kind === 'plan')).toEqual([{ kind: 'plan', description: 'Pro plan', amount: 1500, plan: 'pro', total: 1500 }]);
  });
});

describe('GET /v1/billing', () => {
  it("shows the plan, the open period, usage against the plan, the upcoming invoice, projected cost and past invoices", async () => {
    const tenant = await tenantWithClosedPeriod('pro', 1_000);
    await closing.closeDue();
    const response = await testApp.app.inject({ method: 'GET', url: '/v1/billing', headers: bearer(tenant.accessToken) });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({
      plan: { key: 'pro', monthlyPriceCents: 1500 },
      status: 'active',
      pastDueSince: null,
      upcomingInvoice: { status: 'draft', totalCents: 1500 },
      invoices: [expect.objectContaining({ status: 'open', totalCents: 1500, periodStart: tenant.periodStart.toISOString() })],
    });
    expect(new Date(body.period.start).getTime()).toBeGreaterThan(tenant.periodStart.getTime());
    expect(body.usage).toContainEqual(expect.objectContaining({ metric: 'api_calls', included: 1_000_000 }));
    expect(body.projectedTotalCents).toBeGreaterThanOrEqual(1500);
  });

  it("is for the tenant's admins", async () => {
    const tenant = await signUp(testApp.app);
    const member = await addNewMember(testApp.app, tenant.accessToken, 'member');
    expectProblem(await testApp.app.inject({ method: 'GET', url: '/v1/billing', headers: bearer(member.accessToken) }), 403, 'forbidden');
  });

  it("answers another tenant's invoice exactly like a made-up one", async () => {
    const owner = await tenantWithClosedPeriod('pro', 1);
    const other = await signUp(testApp.app);
    const [issued] = (await closing.closeDue()).filter((invoice) => invoice.tenantId === owner.tenantId);
    const theirs = await testApp.app.inject({ method: 'GET', url: `/v1/billing/invoices/${issued!.invoiceId}`, headers: bearer(other.accessToken) });
    const madeUp = await testApp.app.inject({ method: 'GET', url: `/v1/billing/invoices/${crypto.randomUUID()}`, headers: bearer(other.accessToken) });
    expectProblem(theirs, 404, 'not-found');
    expect(theirs.json().detail).toBe(madeUp.json().detail);
  });
});

describe('the operator settles invoices', () => {
  const act = (invoiceId: string, action: string) =>
    testApp.app.inject({ method: 'POST', url: `/v1/admin/billing/invoices/${invoiceId}/${action}`, headers: admin });

  it('a failed payment makes the tenant past_due; paying makes it active again; saying so twice changes nothing', async () => {
    const tenant = await tenantWithClosedPeriod('pro', 0);
    const [issued] = (await closing.closeDue()).filter((invoice) => invoice.tenantId === tenant.tenantId);
    const failed = await act(issued!.invoiceId, 'payment-failed');
    expect(failed.json()).toMatchObject({ invoiceStatus: 'open', tenantStatus: 'past_due' });
    const overview = (await testApp.app.inject({ method: 'GET', url: '/v1/billing', headers: bearer(tenant.accessToken) })).json();
    expect(overview.status).toBe('past_due');
    expect(new Date(overview.suspendsAt).getTime() - new Date(overview.pastDueSince).getTime()).toBe(7 * 86_400_000);
    expect((await act(issued!.invoiceId, 'paid')).json()).toMatchObject({ invoiceStatus: 'paid', tenantStatus: 'active' });
    expect((await act(issued!.invoiceId, 'paid')).json()).toMatchObject({ invoiceStatus: 'paid', tenantStatus: 'active' });
    expectProblem(await act(issued!.invoiceId, 'void'), 409, 'conflict');
    expectProblem(await act(issued!.invoiceId, 'payment-failed'), 409, 'conflict');
  });

  it('needs the operator credential and an invoice that exists', async () => {
    const tenant = await tenantWithClosedPeriod('pro', 0);
    const [issued] = (await closing.closeDue()).filter((invoice) => invoice.tenantId === tenant.tenantId);
    const byOwner = await testApp.app.inject({ method: 'POST', url: `/v1/admin/billing/invoices/${issued!.invoiceId}/paid`, headers: bearer(tenant.accessToken) });
    expectProblem(byOwner, 403, 'forbidden');
    expectProblem(await act(crypto.randomUUID(), 'paid'), 404, 'not-found');
    expect(await invoicesOf(tenant.tenantId)).toEqual([expect.objectContaining({ status: 'open' })]);
  });
});
