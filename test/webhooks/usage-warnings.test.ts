// Usage warnings reach the tenant's webhooks: one event at 80 % and one at 100 % of a plan limit
// per billing period and metric, exactly once even when many requests cross a threshold at the
// same moment (the warning row's unique key decides, in the transaction that takes the quota),
// and none when the taking transaction rolls back.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformTx } from '../../src/db/database.js';
import { enterTenant } from '../../src/tenancy/enter-tenant.js';
import { signUp, type SignedUpTenant } from '../support/fixtures.js';
import type { TestApp } from '../support/test-app.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { call, eventually, LOCAL_RECEIVER_ENV, startWebhookApp } from './support/webhook-app.js';

let testApp: TestApp;
let receiver: Receiver;

beforeAll(async () => {
  testApp = await startWebhookApp(LOCAL_RECEIVER_ENV);
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver?.close();
  await testApp?.close();
});

/** Takes `amount` of the free plan's 1,000 tasks in one unit of work of the tenant, as creating tasks would. */
function takeTasks(tenant: SignedUpTenant, amount: number, fail = false): Promise<void> {
  return enterTenant(tenant.tenantId, () =>
    testApp.services.db.tenant(async (tx) => {
      await testApp.services.metering.quotas.take(platformTx(tx), { tenantId: tenant.tenantId }, 'tasks', amount);
      if (fail) throw new Error('the action failed after taking its quota');
    }),
  );
}

async function usageEvents(tenantId: string): Promise<Array<{ threshold: number; used: number }>> {
  const { rows } = await testApp.database.admin.query(`SELECT data FROM webhook_events WHERE tenant_id = $1 AND type = 'usage.warning' ORDER BY created_at`, [tenantId]);
  return rows.map((row) => row.data);
}

describe('usage warnings as webhook events', () => {
  it('announces 80 % and 100 % once each, with concurrent requests crossing 100 % together', async () => {
    const tenant = await signUp(testApp.app);
    await call(testApp, tenant.accessToken, 'POST', '/v1/webhooks/endpoints', { url: receiver.url, eventTypes: ['usage.warning'] });
    receiver.received.length = 0;

    await takeTasks(tenant, 790);
    expect(await usageEvents(tenant.tenantId)).toEqual([]);
    await takeTasks(tenant, 20);
    // Nineteen requests at once take the last 190; whichever reaches 1,000 announces it, no other.
    await Promise.all(Array.from({ length: 19 }, () => takeTasks(tenant, 10)));
    await expect(takeTasks(tenant, 1)).rejects.toMatchObject({ code: 'quota-exceeded' });

    const events = await usageEvents(tenant.tenantId);
    expect(events).toEqual([
      expect.objectContaining({ metric: 'tasks', threshold: 80, used: 810, limit: 1000, periodStart: expect.any(String) }),
      expect.objectContaining({ metric: 'tasks', threshold: 100, used: 1000, limit: 1000 }),
    ]);
    await eventually(() => receiver.received.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.received.map((request) => JSON.parse(request.body).data.threshold)).toEqual([80, 100]);
    expect(receiver.received.every((request) => JSON.parse(request.body).type === 'usage.warning')).toBe(true);
  });

  it('announces nothing when the transaction that crossed the threshold rolls back, and then once when one commits', async () => {
    const tenant = await signUp(testApp.app);
    await takeTasks(tenant, 799);
    await expect(takeTasks(tenant, 1, true)).rejects.toThrow('the action failed');
    expect(await usageEvents(tenant.tenantId)).toEqual([]);
    const { rows } = await testApp.database.admin.query(`SELECT count(*)::int AS n FROM outbox WHERE tenant_id = $1`, [tenant.tenantId]);
    expect(rows[0].n).toBe(0);
    await takeTasks(tenant, 1);
    expect(await usageEvents(tenant.tenantId)).toEqual([expect.objectContaining({ threshold: 80, used: 800 })]);
  });
});
