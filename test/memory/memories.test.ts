// Memories: stored (bounded, validated), a near-duplicate of the same agent's memory
// reinforcing it instead of being copied, a retry with the same Idempotency-Key answering
// with the memory it made, the plan's memories limit exact under concurrency, metering of
// memories and storage_bytes, updates with history, forgetting by id and by filter, and the
// list and timeline pages.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { call, createAgent, liveMemories, seedMemories, storeMemory, tenantOn } from './memory-api.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.close();
});

/** The newest level recorded for a metric of the tenant. */
async function lastLevel(tenantId: string, metric: string): Promise<number | undefined> {
  const { rows } = await testApp.database.admin.query(
    'SELECT quantity::int AS q FROM usage_events WHERE tenant_id = $1 AND metric = $2 ORDER BY created_at DESC LIMIT 1',
    [tenantId, metric],
  );
  return rows[0]?.q;
}

describe('storing a memory', () => {
  it('answers 201 with the memory, importance 0.5 unless given, in the zone its score puts it', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    const response = await call(testApp, tenant, 'POST', '/v1/memories', { content: 'Ada likes her coffee black', tags: ['preference'], metadata: { source: 'chat' } });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({
      outcome: 'created',
      memory: { content: 'Ada likes her coffee black', importance: 0.5, tags: ['preference'], metadata: { source: 'chat' }, zone: 'inner', version: 1, agentId: null },
    });
  });

  it('refuses empty, blank or over-long content, importance outside 0..1 and unknown fields', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    for (const body of [{ content: '' }, { content: '   ' }, { content: 'x'.repeat(8001) }, { content: 'ok', importance: 1.5 }, { content: 'ok', kind: 'fact' }]) {
      expectProblem(await call(testApp, tenant, 'POST', '/v1/memories', body), 400, 'validation-failed');
    }
    expect(await liveMemories(testApp, tenant.tenantId)).toBe(0);
  });

  it("refuses an agentId that is not a live agent of the tenant, another tenant's included, with one answer", async () => {
    const tenant = await tenantOn(testApp, 'pro');
    const other = await tenantOn(testApp, 'pro');
    const theirs = await createAgent(testApp, other, 'theirs');
    const gone = await createAgent(testApp, tenant, 'gone');
    await call(testApp, tenant, 'DELETE', `/v1/agents/${gone.id}`);
    const answers = await Promise.all(
      [theirs.id, gone.id, randomUUID()].map(async (agentId) => expectProblem(await call(testApp, tenant, 'POST', '/v1/memories', { content: 'x', agentId }), 400, 'validation-failed')),
    );
    for (const answer of answers) expect(answer.errors).toEqual([{ field: 'body.agentId', message: 'is not an agent of this tenant' }]);
  });

  it("reinforces the same agent's near-duplicate instead of storing a copy, and says so", async () => {
    const tenant = await tenantOn(testApp, 'pro');
    const agent = await createAgent(testApp, tenant, 'scribe');
    const first = await storeMemory(testApp, tenant, { content: 'The customer prefers email over phone calls', agentId: agent.id, importance: 0.4 });
    const again = await call(testApp, tenant, 'POST', '/v1/memories', { content: 'The customer prefers email over phone calls.', agentId: agent.id, importance: 0.7 });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ outcome: 'reinforced', memory: { id: first.memory.id, reinforcementCount: 1, importance: 0.7 } });
    expect(again.json().similarity).toBeGreaterThanOrEqual(0.8);
    // Another agent, or none, keeps its own copy.
    expect((await storeMemory(testApp, tenant, { content: 'The customer prefers email over phone calls' })).outcome).toBe('created');
    // Unlike content is stored.
    expect((await storeMemory(testApp, tenant, { content: 'The customer is on holiday in March', agentId: agent.id })).outcome).toBe('created');
    expect(await liveMemories(testApp, tenant.tenantId)).toBe(3);
  });

  it('keeps one copy when near-duplicates are stored at once: one is created, the others reinforce it', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    const answers = await Promise.all(Array.from({ length: 4 }, () => call(testApp, tenant, 'POST', '/v1/memories', { content: 'The standup is at nine' })));
    expect(answers.map((answer) => answer.json().outcome).sort()).toEqual(['created', 'reinforced', 'reinforced', 'reinforced']);
    expect(await liveMemories(testApp, tenant.tenantId)).toBe(1);
    expect((await call(testApp, tenant, 'GET', `/v1/memories/${answers[0]!.json().memory.id}`)).json().reinforcementCount).toBe(3);
  });

  it('follows the duplicate threshold of the tenant settings', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    await storeMemory(testApp, tenant, { content: 'Deploys happen on Tuesday mornings' });
    expect((await storeMemory(testApp, tenant, { content: 'Deploys happen on Tuesday evenings' })).outcome).toBe('created');
    expect((await call(testApp, tenant, 'PATCH', '/v1/memory-settings', { duplicateThreshold: 0.5 })).statusCode).toBe(200);
    expect((await storeMemory(testApp, tenant, { content: 'Deploys happen on Tuesday nights' })).outcome).toBe('reinforced');
  });

  it('answers a retry with the same Idempotency-Key with the memory the first attempt stored, also when retries race', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    const key = { 'idempotency-key': `store-${randomUUID()}` };
    const answers = await Promise.all(Array.from({ length: 4 }, () => call(testApp, tenant, 'POST', '/v1/memories', { content: 'Retried exactly once' }, key)));
    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([200, 200, 200, 201]);
    expect(new Set(answers.map((answer) => answer.json().memory.id)).size).toBe(1);
    expect(answers.filter((answer) => answer.statusCode === 200).every((answer) => answer.json().outcome === 'replayed')).toBe(true);
    expect(await liveMemories(testApp, tenant.tenantId)).toBe(1);
  });
});

describe("the plan's memories limit", () => {
  it('lets exactly the limit through when stores race for the last places, and names the plan with more', async () => {
    const tenant = await tenantOn(testApp, 'free');
    await seedMemories(testApp, tenant.tenantId, 997, 'seeded');
    const racing = await Promise.all(Array.from({ length: 6 }, () => call(testApp, tenant, 'POST', '/v1/memories', { content: `racing ${randomUUID()}` })));
    expect(racing.filter((response) => response.statusCode === 201)).toHaveLength(3);
    for (const refused of racing.filter((response) => response.statusCode !== 201)) {
      expect(expectProblem(refused, 403, 'plan-limit-reached')).toMatchObject({ metric: 'memories', limit: 1000, current: 1000, required_plan: 'pro' });
    }
    expect(await liveMemories(testApp, tenant.tenantId)).toBe(1000);
    // The racing stores' events carry their transactions' start times, so the highest level is the last one.
    const { rows } = await testApp.database.admin.query(`SELECT max(quantity)::int AS level FROM usage_events WHERE tenant_id = $1 AND metric = 'memories'`, [tenant.tenantId]);
    expect(rows[0].level).toBe(1000);
  });

  it('frees places when memories are forgotten', async () => {
    const tenant = await tenantOn(testApp, 'free');
    await seedMemories(testApp, tenant.tenantId, 1000, 'old');
    expectProblem(await call(testApp, tenant, 'POST', '/v1/memories', { content: 'one too many' }), 403, 'plan-limit-reached');
    expect((await call(testApp, tenant, 'POST', '/v1/memories/forget', { tags: ['old'] })).json()).toEqual({ forgotten: 1000 });
    expect((await call(testApp, tenant, 'POST', '/v1/memories', { content: 'room again' })).statusCode).toBe(201);
  });
});

describe('metering', () => {
  it('records the live memories and the bytes of their content after every change', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    const one = await storeMemory(testApp, tenant, { content: 'ab' });
    await storeMemory(testApp, tenant, { content: 'ünïcode' });
    expect(await lastLevel(tenant.tenantId, 'memories')).toBe(2);
    expect(await lastLevel(tenant.tenantId, 'storage_bytes')).toBe(2 + Buffer.byteLength('ünïcode'));
    await call(testApp, tenant, 'PATCH', `/v1/memories/${one.memory.id}`, { content: 'abcd' });
    expect(await lastLevel(tenant.tenantId, 'storage_bytes')).toBe(4 + Buffer.byteLength('ünïcode'));
    await call(testApp, tenant, 'DELETE', `/v1/memories/${one.memory.id}`);
    expect(await lastLevel(tenant.tenantId, 'memories')).toBe(1);
    expect(await lastLevel(tenant.tenantId, 'storage_bytes')).toBe(Buffer.byteLength('ünïcode'));
  });
});

describe('updating a memory', () => {
  it('keeps each version it replaces, and the history pages them newest first', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    const { memory } = await storeMemory(testApp, tenant, { content: 'The launch is in May', tags: ['launch'] });
    const first = await call(testApp, tenant, 'PATCH', `/v1/memories/${memory.id}`, { content: 'The launch moved to June', importance: 0.9 });
    expect(first.json()).toMatchObject({ content: 'The launch moved to June', importance: 0.9, tags: ['launch'], version: 2 });
    const second = await call(testApp, tenant, 'PATCH', `/v1/memories/${memory.id}`, { tags: ['launch', 'delayed'] });
    expect(second.json()).toMatchObject({ content: 'The launch moved to June', tags: ['launch', 'delayed'], version: 3 });
    const firstPage = (await call(testApp, tenant, 'GET', `/v1/memories/${memory.id}/history?limit=1`)).json();
    expect(firstPage.data).toMatchObject([{ version: 2, content: 'The launch moved to June', importance: 0.9, tags: ['launch'] }]);
    const secondPage = (await call(testApp, tenant, 'GET', `/v1/memories/${memory.id}/history?limit=1&cursor=${firstPage.nextCursor}`)).json();
    expect(secondPage).toMatchObject({ data: [{ version: 1, content: 'The launch is in May', importance: 0.5 }], nextCursor: null });
  });

  it('answers 404 for a memory that does not exist or was forgotten', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    const { memory } = await storeMemory(testApp, tenant, { content: 'short-lived' });
    expect((await call(testApp, tenant, 'DELETE', `/v1/memories/${memory.id}`)).statusCode).toBe(204);
    for (const id of [memory.id, randomUUID()]) {
      expectProblem(await call(testApp, tenant, 'PATCH', `/v1/memories/${id}`, { importance: 1 }), 404, 'not-found');
      expectProblem(await call(testApp, tenant, 'GET', `/v1/memories/${id}`), 404, 'not-found');
      expectProblem(await call(testApp, tenant, 'GET', `/v1/memories/${id}/history`), 404, 'not-found');
      expectProblem(await call(testApp, tenant, 'DELETE', `/v1/memories/${id}`), 404, 'not-found');
    }
  });
});

describe('forgetting by filter', () => {
  it('forgets what matches every given criterion, answers how many, and leaves the rest', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    const agent = await createAgent(testApp, tenant, 'filtered');
    await storeMemory(testApp, tenant, { content: 'alpha one', tags: ['a'], agentId: agent.id });
    await storeMemory(testApp, tenant, { content: 'bravo two', tags: ['a', 'b'] });
    const old = await storeMemory(testApp, tenant, { content: 'charlie three', tags: ['b'] });
    await testApp.database.admin.query(`UPDATE memories SET created_at = now() - interval '30 days' WHERE id = $1`, [old.memory.id]);
    expect((await call(testApp, tenant, 'POST', '/v1/memories/forget', { tags: ['a'], agentId: agent.id })).json()).toEqual({ forgotten: 1 });
    expect((await call(testApp, tenant, 'POST', '/v1/memories/forget', { olderThan: new Date(Date.now() - 86_400_000).toISOString() })).json()).toEqual({ forgotten: 1 });
    expect(await liveMemories(testApp, tenant.tenantId)).toBe(1);
    expectProblem(await call(testApp, tenant, 'POST', '/v1/memories/forget', {}), 400, 'validation-failed');
  });
});

describe('the list and the timeline', () => {
  it('page newest first and oldest first, filtered, with cursors', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    const stored: string[] = [];
    for (const [i, tag] of ['x', 'y', 'x', 'x', 'y'].entries()) stored.push((await storeMemory(testApp, tenant, { content: `entry ${i} ${randomUUID()}`, tags: [tag] })).memory.id);
    const pages = async (url: string): Promise<string[]> => {
      const ids: string[] = [];
      for (let cursor: string | null = null; ; ) {
        const page: { data: { id: string }[]; nextCursor: string | null } = (await call(testApp, tenant, 'GET', `${url}${url.includes('?') ? '&' : '?'}limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json();
        ids.push(...page.data.map((row: { id: string }) => row.id));
        if (!page.nextCursor) return ids;
        cursor = page.nextCursor;
      }
    };
    expect(await pages('/v1/memories')).toEqual([...stored].reverse());
    expect(await pages('/v1/memories/timeline')).toEqual(stored);
    expect(await pages('/v1/memories/timeline?tag=x')).toEqual([stored[0], stored[2], stored[3]]);
  });
});
