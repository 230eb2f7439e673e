// An agent's own API keys act only as that agent: its memories, nobody else's, and none of the
// tenant's management. Two instances on one database (B's caches warm) show that a deleted
// agent's key, or a revoked one, is refused on its next request wherever it was cached; the
// query layer alone and RLS alone each keep an agent's key to its agent.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { createPool, Database } from '../../src/db/database.js';
import { MemoryManagement } from '../../src/memory/manage-memories.js';
import type { MemoryDatabase } from '../../src/memory/memory-tables.js';
import type { MemoryUsage } from '../../src/memory/memory-usage.js';
import type { ApiKeyActor } from '../../src/tenancy/actor.js';
import { runWithContext } from '../../src/tenancy/context.js';
import { bearer, expectProblem, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { TEST_ROLES } from '../support/roles.js';
import { TEST_REGISTRY, type TestTables } from '../support/modules.js';
import { connected, startInstance, type Instance } from '../cache/second-instance.js';
import { call, createAgent, tenantOn } from './memory-api.js';

let a: TestApp;
let b: Instance;
let tenant: SignedUpTenant;
let other: SignedUpTenant;
let agent1: { id: string };
let agent2: { id: string };
let otherAgent: { id: string };
/** The secret of agent1's key. */
let key1: string;
let key1Id: string;
/** Memories: agent1's, agent2's and the other tenant's, all with the same words. */
let m1: string;
let m2: string;
let mOther: string;

const WORDS = 'launch plan for the orbital telescope';

const as = (token: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, on: { app: TestApp['app'] } = a) =>
  on.app.inject({ method, url, headers: bearer(token), ...(payload === undefined ? {} : { payload }) });

async function createKey(agentId: string, name = 'agent key'): Promise<{ id: string; key: string; agentId: string; kind: string; role: string }> {
  const response = await call(a, tenant, 'POST', `/v1/agents/${agentId}/api-keys`, { name });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

async function memoryRow(id: string): Promise<Record<string, unknown>> {
  const { rows } = await a.database.admin.query('SELECT content, importance, deleted_at, version FROM memories WHERE id = $1', [id]);
  return rows[0];
}

beforeAll(async () => {
  const shared = { TENANTRY_CACHE_TTL_SECONDS: '30', TENANTRY_CACHE_CHANNEL: 'tenantry_agent_keys_test' };
  a = await startTestApp(shared);
  b = await startInstance(a.database, shared);
  await connected(a.services);
  await connected(b.services);
  tenant = await tenantOn(a, 'pro');
  other = await tenantOn(a, 'pro');
  agent1 = await createAgent(a, tenant, 'first');
  agent2 = await createAgent(a, tenant, 'second');
  otherAgent = await createAgent(a, other, 'elsewhere');
  const created = await createKey(agent1.id);
  key1 = created.key;
  key1Id = created.id;
  const store = async (who: SignedUpTenant, agentId: string, content: string) => {
    const response = await call(a, who, 'POST', '/v1/memories', { content, agentId, tags: ['shared'] });
    expect(response.statusCode, response.body).toBe(201);
    return response.json().memory.id as string;
  };
  m1 = await store(tenant, agent1.id, `${WORDS}, as the first agent heard it`);
  m2 = await store(tenant, agent2.id, `${WORDS}: the second agent's private notes about the budget`);
  mOther = await store(other, otherAgent.id, `${WORDS} in another tenant`);
});

afterAll(async () => {
  await b?.close();
  await a?.close();
});

describe('an agent key is created, listed and shown once', () => {
  it('answers 201 with the secret once, kind agent, member role and the agent', async () => {
    const created = await createKey(agent2.id, 'listed');
    expect(created).toMatchObject({ kind: 'agent', role: 'member', agentId: agent2.id });
    expect(created.key).toMatch(/^tnt_/);
    const listed = await call(a, tenant, 'GET', `/v1/agents/${agent2.id}/api-keys`);
    expect(listed.statusCode).toBe(200);
    const row = listed.json().data.find((key: { id: string }) => key.id === created.id);
    expect(row).toMatchObject({ agentId: agent2.id, revokedAt: null });
    expect(row.key).toBeUndefined();
    const { rows } = await a.database.admin.query('SELECT secret_hash FROM api_keys WHERE id = $1', [created.id]);
    expect(rows[0].secret_hash.toString()).not.toContain(created.key.split('_')[2]);
  });

  it("answers 404 for another tenant's agent and for a made-up one, writing no key", async () => {
    const before = await a.database.admin.query('SELECT count(*)::int AS n FROM api_keys');
    expectProblem(await call(a, tenant, 'POST', `/v1/agents/${otherAgent.id}/api-keys`, { name: 'crossing' }), 404, 'not-found');
    expectProblem(await call(a, tenant, 'POST', '/v1/agents/00000000-0000-4000-8000-000000000000/api-keys', { name: 'nobody' }), 404, 'not-found');
    expectProblem(await call(a, tenant, 'GET', `/v1/agents/${otherAgent.id}/api-keys`), 404, 'not-found');
    const after = await a.database.admin.query('SELECT count(*)::int AS n FROM api_keys');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('answers 400 for a bad body', async () => {
    expectProblem(await call(a, tenant, 'POST', `/v1/agents/${agent1.id}/api-keys`, { name: '' }), 400);
    expectProblem(await call(a, tenant, 'POST', `/v1/agents/${agent1.id}/api-keys`, { name: 'x', role: 'admin' }), 400);
    expectProblem(await call(a, tenant, 'POST', `/v1/agents/${agent1.id}/api-keys`, { name: 'x', expiresAt: '2001-01-01T00:00:00Z' }), 400);
  });

  it("does not count against the plan's agents: the agents do", async () => {
    const { rows } = await a.database.admin.query(
      `SELECT used::int AS used FROM usage_counters WHERE tenant_id = $1 AND metric = 'agents'`,
      [tenant.tenantId],
    );
    expect(rows[0]?.used).toBe(2);
  });
});

describe("an agent key sees and changes only its agent's memories", () => {
  it('stores for its own agent, with or without naming it', async () => {
    const named = await as(key1, 'POST', '/v1/memories', { content: 'the agent names itself', agentId: agent1.id });
    expect(named.statusCode, named.body).toBe(201);
    const unnamed = await as(key1, 'POST', '/v1/memories', { content: 'the agent says nothing of who it is' });
    expect(unnamed.statusCode, unnamed.body).toBe(201);
    expect(unnamed.json().memory.agentId).toBe(agent1.id);
  });

  it('answers 403 for a store as another agent, and writes nothing', async () => {
    const response = await as(key1, 'POST', '/v1/memories', { content: 'pretending to be the second agent', agentId: agent2.id });
    expectProblem(response, 403, 'forbidden');
    const { rowCount } = await a.database.admin.query(`SELECT 1 FROM memories WHERE content = 'pretending to be the second agent'`);
    expect(rowCount).toBe(0);
  });

  it('recalls, narrates, lists and pages the timeline over its agent only', async () => {
    const recalled = await as(key1, 'POST', '/v1/memories/recall', { q: WORDS, limit: 50 });
    expect(recalled.statusCode, recalled.body).toBe(200);
    expect(recalled.json().data.map((m: { memory: { id: string } }) => m.memory.id)).toEqual([m1]);
    const narrated = await as(key1, 'POST', '/v1/memories/narrate', { topic: WORDS });
    expect(narrated.statusCode).toBe(200);
    expect(narrated.json().events.map((e: { id: string }) => e.id)).toEqual([m1]);
    expect(narrated.json().text).not.toContain('budget');
    for (const url of ['/v1/memories?limit=100', '/v1/memories/timeline?limit=100', '/v1/memories/timeline?tag=shared&limit=100']) {
      const listed = await as(key1, 'GET', url);
      expect(listed.statusCode, `${url}: ${listed.body}`).toBe(200);
      const ids = listed.json().data.map((m: { id: string }) => m.id);
      expect(ids, url).toContain(m1);
      expect(ids, url).not.toContain(m2);
      expect(ids, url).not.toContain(mOther);
    }
  });

  it("answers 403 when a read names another agent (a filter is not a way out)", async () => {
    expectProblem(await as(key1, 'POST', '/v1/memories/recall', { q: WORDS, agentId: agent2.id }), 403, 'forbidden');
    expectProblem(await as(key1, 'GET', `/v1/memories?agentId=${agent2.id}`), 403, 'forbidden');
  });

  it('counts only its agent in stats', async () => {
    const stats = await as(key1, 'GET', '/v1/memories/stats');
    expect(stats.statusCode, stats.body).toBe(200);
    expect(stats.json().byAgent.map((row: { agentId: string }) => row.agentId)).toEqual([agent1.id]);
    const { rows } = await a.database.admin.query('SELECT count(*)::int AS n FROM memories WHERE agent_id = $1 AND deleted_at IS NULL', [agent1.id]);
    expect(stats.json().memories).toBe(rows[0].n);
  });

  it("cannot read, change, trace or forget another agent's memory, nor another tenant's: 404, nothing changes", async () => {
    for (const id of [m2, mOther]) {
      const before = await memoryRow(id);
      expectProblem(await as(key1, 'GET', `/v1/memories/${id}`), 404, 'not-found');
      expectProblem(await as(key1, 'GET', `/v1/memories/${id}/history`), 404, 'not-found');
      expectProblem(await as(key1, 'PATCH', `/v1/memories/${id}`, { content: 'overwritten by the first agent' }), 404, 'not-found');
      expectProblem(await as(key1, 'DELETE', `/v1/memories/${id}`), 404, 'not-found');
      expect(await memoryRow(id)).toEqual(before);
    }
    expect((await as(key1, 'GET', `/v1/memories/${m1}`)).statusCode).toBe(200);
  });

  it('forgets by filter only its own memories', async () => {
    expectProblem(await as(key1, 'POST', '/v1/memories/forget', { agentId: agent2.id, tags: ['shared'] }), 403, 'forbidden');
    const before = await memoryRow(m2);
    const extra = await as(key1, 'POST', '/v1/memories', { content: 'a throwaway thought', tags: ['throwaway'] });
    expect(extra.statusCode).toBe(201);
    await call(a, tenant, 'POST', '/v1/memories', { content: 'a throwaway thought of the second agent', agentId: agent2.id, tags: ['throwaway'] });
    const forgotten = await as(key1, 'POST', '/v1/memories/forget', { tags: ['throwaway'] });
    expect(forgotten.statusCode, forgotten.body).toBe(200);
    expect(forgotten.json().forgotten).toBe(1);
    const { rows } = await a.database.admin.query(`SELECT agent_id FROM memories WHERE 'throwaway' = ANY (tags) AND deleted_at IS NULL`);
    expect(rows.map((row) => row.agent_id)).toEqual([agent2.id]);
    expect(await memoryRow(m2)).toEqual(before);
  });

  it("cannot reach another tenant by naming it", async () => {
    const response = await a.app.inject({ method: 'GET', url: '/v1/memories', headers: { ...bearer(key1), 'x-tenant-id': other.tenantId } });
    expectProblem(response, 403, 'tenant-mismatch');
  });
});

describe('an agent key cannot manage the tenant', () => {
  const management: Array<['GET' | 'POST' | 'PATCH' | 'DELETE', string, object?]> = [
    ['GET', '/v1/agents'],
    ['POST', '/v1/agents', { name: 'made by an agent' }],
    ['PATCH', '/v1/agents/AGENT', { name: 'renamed by an agent' }],
    ['DELETE', '/v1/agents/AGENT'],
    ['POST', '/v1/agents/AGENT/api-keys', { name: 'minted by an agent' }],
    ['GET', '/v1/agents/AGENT/api-keys'],
    ['GET', '/v1/api-keys'],
    ['POST', '/v1/api-keys', { name: 'minted by an agent', role: 'member' }],
    ['GET', '/v1/members'],
    ['GET', '/v1/billing'],
    ['GET', '/v1/memory-settings'],
    ['POST', '/v1/projects', { name: 'an agent project' }],
  ];
  for (const [method, path, payload] of management) {
    it(`answers 403 to ${method} ${path}`, async () => {
      const url = path.replace('AGENT', agent1.id);
      const response = await as(key1, method, url, payload);
      expectProblem(response, 403, 'forbidden');
    });
  }

  it('changed nothing', async () => {
    const { rows } = await a.database.admin.query(
      `SELECT (SELECT count(*)::int FROM agents WHERE tenant_id = $1 AND deleted_at IS NULL) AS agents,
              (SELECT count(*)::int FROM api_keys WHERE tenant_id = $1 AND name LIKE '%by an agent') AS keys`,
      [tenant.tenantId],
    );
    expect(rows[0]).toEqual({ agents: 2, keys: 0 });
  });
});

describe("an agent's key stops working with its agent, wherever it was cached", () => {
  it('is refused on B, warm, on the request after the agent is deleted on A, and on A', async () => {
    const doomed = await createAgent(a, tenant, 'doomed');
    const key = (await createKey(doomed.id)).key;
    for (let i = 0; i < 2; i += 1) expect((await as(key, 'GET', '/v1/memories', undefined, b)).statusCode).toBe(200);
    expect((await call(a, tenant, 'DELETE', `/v1/agents/${doomed.id}`)).statusCode).toBe(200);
    expectProblem(await as(key, 'GET', '/v1/memories', undefined, b), 401, 'invalid-credentials');
    expectProblem(await as(key, 'POST', '/v1/memories', { content: 'after death' }, b), 401, 'invalid-credentials');
    expectProblem(await as(key, 'GET', '/v1/memories'), 401, 'invalid-credentials');
    const { rows } = await a.database.admin.query('SELECT revoked_at FROM api_keys WHERE agent_id = $1', [doomed.id]);
    expect(rows.every((row) => row.revoked_at !== null)).toBe(true);
  });

  it('is refused when its agent is deleted straight in the database (no use case, no invalidation)', async () => {
    const doomed = await createAgent(a, tenant, 'deleted behind our back');
    const key = (await createKey(doomed.id)).key;
    for (let i = 0; i < 2; i += 1) expect((await as(key, 'GET', '/v1/memories/stats', undefined, b)).statusCode).toBe(200);
    await a.database.admin.query('UPDATE agents SET deleted_at = now() WHERE id = $1', [doomed.id]);
    expectProblem(await as(key, 'GET', '/v1/memories/stats', undefined, b), 401, 'invalid-credentials');
  });

  it('is refused after DELETE /v1/agents/:id/api-keys/:keyId; another agent cannot revoke it', async () => {
    const created = await createKey(agent1.id, 'to revoke');
    for (let i = 0; i < 2; i += 1) expect((await as(created.key, 'GET', '/v1/memories', undefined, b)).statusCode).toBe(200);
    expectProblem(await call(a, tenant, 'DELETE', `/v1/agents/${agent2.id}/api-keys/${created.id}`), 404, 'not-found');
    expect((await as(created.key, 'GET', '/v1/memories', undefined, b)).statusCode).toBe(200);
    expect((await call(a, tenant, 'DELETE', `/v1/agents/${agent1.id}/api-keys/${created.id}`)).statusCode).toBe(204);
    expectProblem(await as(created.key, 'GET', '/v1/memories', undefined, b), 401, 'invalid-credentials');
    expect((await as(key1, 'GET', '/v1/memories', undefined, b)).statusCode).toBe(200);
    expect(key1Id).not.toBe(created.id);
  });
});

describe('each layer alone keeps an agent key to its agent', () => {
  it('RLS alone: a unit with app.agent_id set sees and writes only that agent', async () => {
    const client = await a.database.admin.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL ROLE ${TEST_ROLES.app}`);
      await client.query(`SET LOCAL app.tenant_id = '${tenant.tenantId}'`);
      await client.query(`SET LOCAL app.agent_id = '${agent1.id}'`);
      const seen = await client.query('SELECT DISTINCT agent_id FROM memories');
      expect(seen.rows.map((row) => row.agent_id)).toEqual([agent1.id]);
      const changed = await client.query(`UPDATE memories SET importance = 0.01 WHERE id = $1`, [m2]);
      expect(changed.rowCount).toBe(0);
      const versions = await client.query('SELECT 1 FROM memory_versions v JOIN memories m USING (tenant_id) WHERE m.id = $1 AND v.memory_id = $1', [m2]);
      expect(versions.rowCount).toBe(0);
      await expect(
        client.query(`INSERT INTO memories (tenant_id, id, agent_id, content) VALUES ($1, gen_random_uuid(), $2, 'forged')`, [tenant.tenantId, agent2.id]),
      ).rejects.toThrow(/row-level security/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('the query layer alone (RLS bypassed as the owner): the use cases narrow to the agent', async () => {
    const pool = createPool(a.database.url, 2, pino({ level: 'silent' }));
    try {
      const owner: Database<TestTables> = new Database<TestTables>({
        modules: TEST_REGISTRY,
        pool,
        roles: { ...TEST_ROLES, app: TEST_ROLES.owner },
        logger: pino({ level: 'silent' }),
      });
      await a.database.admin.query('ALTER TABLE memories NO FORCE ROW LEVEL SECURITY');
      const memories = new MemoryManagement(owner as unknown as MemoryDatabase, a.clock, {} as MemoryUsage);
      const actor: ApiKeyActor = { kind: 'api_key', apiKeyId: key1Id, agentId: agent1.id, tenantId: tenant.tenantId, role: 'member', plan: 'pro', requestId: 'forged' };
      // The context carries no agent: app.agent_id is empty, so only the query layer narrows.
      await runWithContext({ requestId: 'forged', tenantId: tenant.tenantId }, async () => {
        await expect(memories.get(actor, m2)).rejects.toMatchObject({ status: 404 });
        const page = await memories.list(actor, {}, { limit: 100, sort: 'desc', after: undefined });
        expect(new Set(page.rows.map((row) => row.agent_id))).toEqual(new Set([agent1.id]));
        await expect(memories.list(actor, { agentId: agent2.id }, { limit: 100, sort: 'desc', after: undefined })).rejects.toMatchObject({ status: 403 });
      });
    } finally {
      await a.database.admin.query('ALTER TABLE memories FORCE ROW LEVEL SECURITY');
      await pool.end();
    }
  });
});
