// Agents: registered, listed, changed and deleted per tenant; the plan's `agents` limit is
// taken under a lock, so concurrent creates at the limit stop at exactly the limit; deleting
// an agent forgets its memories and the metering follows.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { call, createAgent, liveMemories, storeMemory, tenantOn } from './memory-api.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.close();
});

describe('an agent', () => {
  it('is created, read, listed, changed and deleted', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    const created = await call(testApp, tenant, 'POST', '/v1/agents', { name: 'Support bot', description: 'answers tickets', metadata: { model: 'x' } });
    expect(created.statusCode).toBe(201);
    const agent = created.json();
    expect(agent).toMatchObject({ name: 'Support bot', description: 'answers tickets', metadata: { model: 'x' } });

    expect((await call(testApp, tenant, 'GET', `/v1/agents/${agent.id}`)).json()).toEqual(agent);
    const changed = await call(testApp, tenant, 'PATCH', `/v1/agents/${agent.id}`, { description: 'answers and triages tickets' });
    expect(changed.json()).toMatchObject({ id: agent.id, name: 'Support bot', description: 'answers and triages tickets' });
    const list = await call(testApp, tenant, 'GET', '/v1/agents');
    expect(list.json().data.map((row: { id: string }) => row.id)).toEqual([agent.id]);

    const deleted = await call(testApp, tenant, 'DELETE', `/v1/agents/${agent.id}`);
    expect(deleted.json()).toEqual({ id: agent.id, forgottenMemories: 0 });
    expectProblem(await call(testApp, tenant, 'GET', `/v1/agents/${agent.id}`), 404, 'not-found');
  });

  it("has a name no other live agent of the tenant has, ignoring case; another tenant's names do not count", async () => {
    const tenant = await tenantOn(testApp, 'pro');
    await createAgent(testApp, tenant, 'Planner');
    expect(expectProblem(await call(testApp, tenant, 'POST', '/v1/agents', { name: 'planner' }), 409, 'conflict')).toMatchObject({ field: 'name' });
    await createAgent(testApp, await tenantOn(testApp, 'pro'), 'Planner');
  });

  it('refuses metadata larger than 8 KiB as JSON text, naming the field', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    const response = await call(testApp, tenant, 'POST', '/v1/agents', { name: 'big', metadata: { blob: 'x'.repeat(9000) } });
    expect(expectProblem(response, 400, 'validation-failed').errors).toEqual([{ field: 'body.metadata', message: 'must be at most 8192 bytes as JSON text' }]);
  });

  it('takes its memories with it when deleted, and the memories level follows', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    const agent = await createAgent(testApp, tenant, 'Forgetful');
    await storeMemory(testApp, tenant, { content: 'The customer prefers email over phone calls', agentId: agent.id });
    await storeMemory(testApp, tenant, { content: 'Invoices are due on the first of the month', agentId: agent.id });
    await storeMemory(testApp, tenant, { content: 'The office is closed on public holidays' });
    expect((await call(testApp, tenant, 'DELETE', `/v1/agents/${agent.id}`)).json()).toEqual({ id: agent.id, forgottenMemories: 2 });
    expect(await liveMemories(testApp, tenant.tenantId)).toBe(1);
    const { rows } = await testApp.database.admin.query(
      `SELECT metric, quantity::int FROM usage_events WHERE tenant_id = $1 AND metric IN ('memories', 'agents') ORDER BY created_at DESC, metric LIMIT 2`,
      [tenant.tenantId],
    );
    expect(rows).toEqual(expect.arrayContaining([{ metric: 'memories', quantity: 1 }]));
  });
});

describe("the plan's agents limit", () => {
  it('lets exactly the limit through when creates race for the last places, and names the plan with more', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    await createAgent(testApp, tenant, 'first');
    const racing = await Promise.all(Array.from({ length: 8 }, (_, i) => call(testApp, tenant, 'POST', '/v1/agents', { name: `racer ${i}` })));
    expect(racing.filter((response) => response.statusCode === 201)).toHaveLength(4);
    for (const refused of racing.filter((response) => response.statusCode !== 201)) {
      expect(expectProblem(refused, 403, 'plan-limit-reached')).toMatchObject({ metric: 'agents', limit: 5, current: 5, required_plan: 'promax' });
    }
    const { rows } = await testApp.database.admin.query('SELECT count(*)::int AS n FROM agents WHERE tenant_id = $1 AND deleted_at IS NULL', [tenant.tenantId]);
    expect(rows[0].n).toBe(5);
  });

  it('frees a place when an agent is deleted', async () => {
    const tenant = await tenantOn(testApp, 'free');
    const only = await createAgent(testApp, tenant, 'only');
    expectProblem(await call(testApp, tenant, 'POST', '/v1/agents', { name: 'second' }), 403, 'plan-limit-reached');
    expect((await call(testApp, tenant, 'DELETE', `/v1/agents/${only.id}`)).statusCode).toBe(200);
    await createAgent(testApp, tenant, 'second');
  });
});
