// Recall, narrate, stats and zones: recall ranks in the database by text relevance (full-text,
// and trigrams for words full-text misses), importance, recency and use, with the tenant's
// weights, and says why each memory ranked; the filters narrow it; recalling reinforces what
// it found, after the read; narrate weaves the recall into a chronological account; stats are
// aggregates of the tenant's rows; the rezone job moves memories between zones in set-based SQL.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateQueue } from '../../src/jobs/migrate-queue.js';
import { DEFAULT_MEMORY_SETTINGS } from '../../src/memory/memory-settings.js';
import { rezoneEveryTenantJob } from '../../src/memory/rezone-memories-job.js';
import type { SignedUpTenant } from '../support/fixtures.js';
import { TEST_ROLES } from '../support/roles.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { call, createAgent, storeMemory, tenantOn } from './memory-api.js';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp.services.jobs.stop();
  await testApp.close();
});

interface Recalled {
  memory: { id: string; content: string; importance: number; zone: string; agentId: string | null; tags: string[] };
  score: number;
  parts: { relevance: number; text: number; trigram: number; importance: number; recency: number; frequency: number };
}

async function recall(tenant: SignedUpTenant, body: Record<string, unknown>): Promise<Recalled[]> {
  const response = await call(testApp, tenant, 'POST', '/v1/memories/recall', body);
  expect(response.statusCode, response.body).toBe(200);
  const answer = response.json();
  expect(answer.strategy).toBe('text');
  expect(answer.semantic.available).toBe(false);
  return answer.data;
}

const contents = (rows: readonly Recalled[]) => rows.map((row) => row.memory.content);

/** Polls until `check` holds or the deadline passes (reinforcement is written after the answer). */
async function eventually(check: () => Promise<boolean>, deadlineMs = 15_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('the condition did not hold before the deadline');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('recall', () => {
  it('finds by words and by near-spellings full-text misses, and gives each score part', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    await storeMemory(testApp, tenant, { content: 'PostgreSQL row level security keeps tenants apart', importance: 0.9 });
    await storeMemory(testApp, tenant, { content: 'The cafeteria serves pasta on Fridays', importance: 0.2 });
    await storeMemory(testApp, tenant, { content: 'Security reviews happen every quarter', importance: 0.3 });

    const bySecurity = await recall(tenant, { q: 'security' });
    expect(contents(bySecurity).sort()).toEqual(['PostgreSQL row level security keeps tenants apart', 'Security reviews happen every quarter']);
    for (const row of bySecurity) {
      expect(row.parts.text).toBeGreaterThan(0);
      expect(row.parts.relevance).toBeCloseTo(Math.max(row.parts.text, row.parts.trigram / 2), 6);
      const d = DEFAULT_MEMORY_SETTINGS;
      const weighted =
        (d.relevanceWeight * row.parts.relevance + d.importanceWeight * row.parts.importance + d.recencyWeight * row.parts.recency + d.frequencyWeight * row.parts.frequency) /
        (d.relevanceWeight + d.importanceWeight + d.recencyWeight + d.frequencyWeight);
      expect(row.score).toBeCloseTo(weighted, 5);
    }
    expect(bySecurity[0]!.score).toBeGreaterThanOrEqual(bySecurity[1]!.score);

    // "Postgress" stems to nothing in the content; trigrams still find the word.
    const misspelt = await recall(tenant, { q: 'Postgress' });
    expect(contents(misspelt)).toEqual(['PostgreSQL row level security keeps tenants apart']);
    expect(misspelt[0]!.parts.text).toBe(0);
    expect(misspelt[0]!.parts.trigram).toBeGreaterThanOrEqual(0.6);

    expect(await recall(tenant, { q: 'volcano' })).toEqual([]);
  });

  it('ranks by the weights of the tenant settings', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    await storeMemory(testApp, tenant, { content: 'backup backup backup restore drill', importance: 0.4 });
    await storeMemory(testApp, tenant, { content: 'the backup runs at night', importance: 0.6 });
    expect(contents(await recall(tenant, { q: 'backup' }))[0]).toBe('backup backup backup restore drill');
    const changed = await call(testApp, tenant, 'PATCH', '/v1/memory-settings', { relevanceWeight: 0, importanceWeight: 1 });
    expect(changed.json()).toMatchObject({ relevanceWeight: 0, importanceWeight: 1, recencyWeight: DEFAULT_MEMORY_SETTINGS.recencyWeight });
    expect(contents(await recall(tenant, { q: 'backup' }))[0]).toBe('the backup runs at night');
  });

  it('narrows by agent, zone, tags, time window and minimum importance, and limits', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    const agent = await createAgent(testApp, tenant, 'narrow');
    const byAgent = await storeMemory(testApp, tenant, { content: 'release notes for the agent', agentId: agent.id, tags: ['release'], importance: 0.2 });
    const important = await storeMemory(testApp, tenant, { content: 'release checklist is mandatory', tags: ['release', 'process'], importance: 0.95 });
    const old = await storeMemory(testApp, tenant, { content: 'release of version one', importance: 0.5 });
    await testApp.database.admin.query(`UPDATE memories SET created_at = '2020-01-01', zone = 'cloud' WHERE id = $1`, [old.memory.id]);
    const ids = async (body: Record<string, unknown>) => (await recall(tenant, { q: 'release', ...body })).map((row) => row.memory.id).sort();

    expect(await ids({})).toHaveLength(3);
    expect(await ids({ agentId: agent.id })).toEqual([byAgent.memory.id]);
    expect(await ids({ tags: ['release', 'process'] })).toEqual([important.memory.id]);
    expect(await ids({ zones: ['cloud'] })).toEqual([old.memory.id]);
    expect(await ids({ until: '2021-01-01T00:00:00Z' })).toEqual([old.memory.id]);
    expect(await ids({ since: '2021-01-01T00:00:00Z' })).toEqual([byAgent.memory.id, important.memory.id].sort());
    expect(await ids({ minImportance: 0.9 })).toEqual([important.memory.id]);
    expect(await ids({ limit: 1 })).toHaveLength(1);
  });

  it('reinforces what it recalled after answering: recall count and last recall', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    const { memory } = await storeMemory(testApp, tenant, { content: 'the on-call rota changes on Mondays' });
    await recall(tenant, { q: 'rota' });
    await recall(tenant, { q: 'rota' });
    await eventually(async () => (await call(testApp, tenant, 'GET', `/v1/memories/${memory.id}`)).json().recallCount === 2);
    const read = (await call(testApp, tenant, 'GET', `/v1/memories/${memory.id}`)).json();
    expect(read.lastRecalledAt).not.toBeNull();
    expect((await recall(tenant, { q: 'rota' }))[0]!.parts.frequency).toBeGreaterThan(0);
  });
});

describe('narrate', () => {
  it('weaves the recalled memories into a chronological account, plain and structured', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    const later = await storeMemory(testApp, tenant, { content: 'The migration to the new billing system finished' });
    const earlier = await storeMemory(testApp, tenant, { content: 'The billing system migration started' });
    await testApp.database.admin.query(`UPDATE memories SET created_at = '2026-03-01T10:00:00Z' WHERE id = $1`, [earlier.memory.id]);
    await testApp.database.admin.query(`UPDATE memories SET created_at = '2026-03-04T10:00:00Z' WHERE id = $1`, [later.memory.id]);
    await storeMemory(testApp, tenant, { content: 'Lunch is at noon' });
    const response = await call(testApp, tenant, 'POST', '/v1/memories/narrate', { topic: 'billing migration' });
    expect(response.statusCode, response.body).toBe(200);
    const narrative = response.json();
    expect(narrative.events.map((event: { id: string }) => event.id)).toEqual([earlier.memory.id, later.memory.id]);
    expect(narrative).toMatchObject({ topic: 'billing migration', from: '2026-03-01T10:00:00.000Z', to: '2026-03-04T10:00:00.000Z' });
    expect(narrative.text).toBe(
      [
        'What is remembered about billing migration: 2 memories, between 1 March 2026 and 4 March 2026.',
        'On 1 March 2026: The billing system migration started.',
        'Then, on 4 March 2026: The migration to the new billing system finished.',
      ].join('\n\n'),
    );
    const nothing = (await call(testApp, tenant, 'POST', '/v1/memories/narrate', { topic: 'volcanoes' })).json();
    expect(nothing).toMatchObject({ text: 'Nothing is remembered about volcanoes.', events: [], from: null, to: null });
  });
});

describe('stats', () => {
  it('counts per zone and agent, totals, quota used, average importance and the most recalled, from the database', async () => {
    const tenant = await tenantOn(testApp, 'pro');
    const agent = await createAgent(testApp, tenant, 'counted');
    await storeMemory(testApp, tenant, { content: 'alpha fact', agentId: agent.id, importance: 0.2 });
    await storeMemory(testApp, tenant, { content: 'bravo fact', agentId: agent.id, importance: 0.4 });
    const recalled = await storeMemory(testApp, tenant, { content: 'charlie fact', importance: 0.9 });
    await testApp.database.admin.query(`UPDATE memories SET recall_count = 7 WHERE id = $1`, [recalled.memory.id]);
    const stats = (await call(testApp, tenant, 'GET', '/v1/memories/stats')).json();
    expect(stats).toMatchObject({
      memories: 3,
      bytes: 'alpha fact'.length + 'bravo fact'.length + 'charlie fact'.length,
      recalls: 7,
      reinforcements: 0,
      quota: { limit: 50_000, used: 3 },
      mostRecalled: [{ id: recalled.memory.id, content: 'charlie fact', recallCount: 7 }],
    });
    expect(stats.averageImportance).toBeCloseTo(0.5, 5);
    expect(Object.values(stats.byZone).reduce((sum: number, n) => sum + (n as number), 0)).toBe(3);
    expect(stats.byAgent).toEqual([
      { agentId: agent.id, name: 'counted', memories: 2 },
      { agentId: null, name: null, memories: 1 },
    ]);
  });
});

describe('zones', () => {
  it('the rezone job moves aged memories outward in set-based SQL, in its own tenant only', async () => {
    await migrateQueue(testApp.database.url, TEST_ROLES, testApp.services.logger);
    await testApp.services.jobs.start({ concurrency: 1, pollIntervalMs: 200 });
    testApp.services.outbox.start();
    const tenant = await tenantOn(testApp, 'pro');
    const other = await tenantOn(testApp, 'pro');
    const aged = await storeMemory(testApp, tenant, { content: 'an old remark', importance: 0.5 });
    const fresh = await storeMemory(testApp, tenant, { content: 'a core principle', importance: 1 });
    const othersAged = await storeMemory(testApp, other, { content: 'an old remark of the other tenant', importance: 0.5 });
    expect(aged.memory.zone).toBe('inner');
    await testApp.database.admin.query(`UPDATE memories SET updated_at = now() - interval '365 days' WHERE id IN ($1, $2)`, [aged.memory.id, othersAged.memory.id]);

    const done = new Promise<void>((resolve, reject) => {
      testApp.services.jobs.events.on('job:success', ({ job }) => job.task_identifier === 'rezone-memories' && resolve());
      testApp.services.jobs.events.on('job:failed', ({ job, error }) => job.task_identifier === 'rezone-memories' && reject(error));
    });
    expect((await call(testApp, tenant, 'POST', '/v1/memories/rezone')).statusCode).toBe(202);
    await done;
    const zoneOf = async (who: SignedUpTenant, id: string) => (await call(testApp, who, 'GET', `/v1/memories/${id}`)).json().zone;
    // importance 0.5, recency ~0, no use: (0.2 * 0.5) / 0.45 = 0.22, the belt.
    expect(await zoneOf(tenant, aged.memory.id)).toBe('belt');
    expect(await zoneOf(tenant, fresh.memory.id)).toBe('core');
    expect(await zoneOf(other, othersAged.memory.id)).toBe('inner');
    expect(testApp.logs()).toMatch(/"moved":1,"rescored":\d+.*memories re-zoned/);
    // Stats and realtime report the move, to this tenant only.
    const moved = async (who: SignedUpTenant) => (await call(testApp, who, 'GET', '/v1/memories/stats')).json().movedLastDay;
    expect(await moved(tenant)).toEqual({ core: 0, inner: 0, outer: 0, belt: 1, cloud: 0 });
    expect(await moved(other)).toEqual({ core: 0, inner: 0, outer: 0, belt: 0, cloud: 0 });
    const announced = async (who: SignedUpTenant) =>
      (
        await testApp.database.admin.query(
          `SELECT payload->'data' AS data FROM outbox WHERE tenant_id = $1 AND topic = 'realtime.event' AND payload->>'type' = 'memories.rezoned'
           UNION ALL SELECT data FROM realtime_events WHERE tenant_id = $1 AND type = 'memories.rezoned'`,
          [who.tenantId],
        )
      ).rows.map((row) => row.data);
    expect(await announced(tenant)).toEqual([{ moved: 1 }]);
    expect(await announced(other)).toEqual([]);
    expect((await recall(tenant, { q: 'remark', zones: ['belt'] })).map((row) => row.memory.id)).toEqual([aged.memory.id]);
  });

  it('every hour re-zoning is queued for each live tenant holding memories, none other', async () => {
    const holding = await tenantOn(testApp, 'pro');
    const empty = await tenantOn(testApp, 'pro');
    const suspended = await tenantOn(testApp, 'pro');
    const aged = await storeMemory(testApp, holding, { content: 'an aged note', importance: 0.5 });
    const frozen = await storeMemory(testApp, suspended, { content: 'an aged note of a suspended tenant', importance: 0.5 });
    await testApp.database.admin.query(`UPDATE memories SET updated_at = now() - interval '365 days' WHERE id IN ($1, $2)`, [aged.memory.id, frozen.memory.id]);
    await testApp.database.admin.query(`UPDATE tenants SET status = 'suspended' WHERE id = $1`, [suspended.tenantId]);

    // Every re-zoning started, whether it went on to succeed or fail.
    const started = new Set<string>();
    const rezoned = new Set<string>();
    let last = Date.now();
    testApp.services.jobs.events.on('job:start', ({ job }) => {
      if (job.task_identifier === 'rezone-memories') started.add((job.payload as { tenantId: string }).tenantId);
    });
    testApp.services.jobs.events.on('job:complete', ({ job }) => {
      if (job.task_identifier !== 'rezone-memories') return;
      rezoned.add((job.payload as { tenantId: string }).tenantId);
      last = Date.now();
    });
    await testApp.services.jobs.enqueueDirect(rezoneEveryTenantJob, {});
    await expect.poll(() => rezoned.has(holding.tenantId), { timeout: 20_000 }).toBe(true);
    // Whatever else it queued has run once no re-zoning has finished for a second.
    await expect.poll(() => Date.now() - last > 1_000, { timeout: 20_000 }).toBe(true);
    expect((await call(testApp, holding, 'GET', `/v1/memories/${aged.memory.id}`)).json().zone).toBe('belt');
    expect(started.has(empty.tenantId)).toBe(false);
    expect(started.has(suspended.tenantId)).toBe(false);
    const { rows } = await testApp.database.admin.query('SELECT zone FROM memories WHERE id = $1', [frozen.memory.id]);
    expect(rows[0].zone).toBe('inner');
  });
});
