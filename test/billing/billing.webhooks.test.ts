// Billing's events reach the tenant's webhook endpoints: a state change (billing.state_changed),
// an issued invoice (billing.invoice_issued, once per invoice) and a plan change (plan.changed,
// billing.plan-changes.test.ts), each written in the transaction that makes the change, so a
// change that rolls back announces nothing.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingState } from '../../src/billing/billing-state.js';
import type { BillingTables } from '../../src/billing/billing-tables.js';
import { PeriodClosing } from '../../src/billing/close-periods.js';
import { bearer, signUp, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const SYSTEM = { kind: 'system', name: 'billing', requestId: 'test:billing-webhooks' } as const;

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp({
    TENANTRY_WEBHOOK_SECRET_KEY: randomBytes(32).toString('base64'),
    TENANTRY_WEBHOOK_ALLOW_HTTP: 'true',
    TENANTRY_WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1',
  });
});

afterAll(async () => {
  await testApp.close();
});

async function subscribedTenant(): Promise<SignedUpTenant> {
  const tenant = await signUp(testApp.app);
  const endpoint = await testApp.app.inject({ method: 'POST', url: '/v1/webhooks/endpoints', headers: bearer(tenant.accessToken), payload: { url: 'http://127.0.0.1:9/hook' } });
  expect(endpoint.statusCode).toBe(201);
  return tenant;
}

async function webhookEvents(tenantId: string) {
  const { rows } = await testApp.database.admin.query(
    `SELECT e.type, e.data, count(d.id)::int AS deliveries FROM webhook_events e LEFT JOIN webhook_deliveries d ON d.tenant_id = e.tenant_id AND d.event_id = e.id
      WHERE e.tenant_id = $1 GROUP BY e.tenant_id, e.id ORDER BY e.created_at`,
    [tenantId],
  );
  return rows;
}

const db = () => testApp.services.db.withTables<BillingTables>();

describe('billing events as tenant webhooks', () => {
  it('delivers a state change to the tenant\'s endpoint, and none to another tenant', async () => {
    const tenant = await subscribedTenant();
    const bystander = await subscribedTenant();
    await new BillingState(db(), testApp.clock, 7, testApp.services.invalidation).apply(tenant.tenantId, 'payment_failed', SYSTEM);
    expect(await webhookEvents(tenant.tenantId)).toEqual([
      { type: 'billing.state_changed', data: expect.objectContaining({ from: 'active', to: 'past_due', cause: 'payment_failed' }), deliveries: 1 },
    ]);
    expect(await webhookEvents(bystander.tenantId)).toEqual([]);
  });

  it('announces nothing when the change rolls back', async () => {
    const tenant = await subscribedTenant();
    const state = new BillingState(db(), testApp.clock, 7, testApp.services.invalidation);
    await expect(
      db().service('test: a payment whose unit fails', async (tx) => {
        await state.applyIn(tx, tenant.tenantId, 'payment_failed', SYSTEM);
        throw new Error('the unit failed after the transition');
      }),
    ).rejects.toThrow('the unit failed');
    expect(await webhookEvents(tenant.tenantId)).toEqual([]);
  });

  it('announces an issued invoice once, however often its period is closed', async () => {
    const tenant = await subscribedTenant();
    const closing = new PeriodClosing(db(), testApp.clock, 48);
    const period = { start: new Date('2026-01-01T00:00:00Z'), end: new Date('2026-02-01T00:00:00Z') };
    const issued = await closing.close(tenant.tenantId, period);
    expect(await closing.close(tenant.tenantId, period)).toBeUndefined();
    expect(await webhookEvents(tenant.tenantId)).toEqual([
      { type: 'billing.invoice_issued', data: expect.objectContaining({ invoiceId: issued!.invoiceId, totalCents: 0, periodStart: period.start.toISOString() }), deliveries: 1 },
    ]);
  });
});
