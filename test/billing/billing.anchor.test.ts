// The metering period follows the subscription's anchor (tenants.billing_anchor), not the
// tenant's creation: usage, quotas and invoices count the same months.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { billingPeriod } from '../../src/metering/billing-period.js';
import { bearer, signUp } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.close();
});

describe('the billing period', () => {
  it("starts at the tenant's creation until a subscription sets the anchor", async () => {
    const tenant = await signUp(testApp.app);
    const { rows } = await testApp.database.admin.query(`SELECT created_at, billing_anchor FROM tenants WHERE id = $1`, [tenant.tenantId]);
    expect(rows[0].billing_anchor).toEqual(rows[0].created_at);
  });

  it('follows the anchor when it moves, in GET /v1/usage', async () => {
    const tenant = await signUp(testApp.app);
    const anchor = new Date(Date.UTC(2026, 0, 31, 10, 20));
    await testApp.database.admin.query(`UPDATE tenants SET billing_anchor = $2 WHERE id = $1`, [tenant.tenantId, anchor]);
    const usage = await testApp.app.inject({ method: 'GET', url: '/v1/usage', headers: bearer(tenant.accessToken) });
    expect(usage.statusCode).toBe(200);
    const expected = billingPeriod(anchor, testApp.clock.now());
    expect({ from: usage.json().from, to: usage.json().to }).toEqual({ from: expected.start.toISOString(), to: expected.end.toISOString() });
    // Anchored on the 31st at 10:00 UTC: every period starts on the anchor's day (clamped) at that hour.
    expect(new Date(usage.json().from).getUTCHours()).toBe(10);
  });
});
