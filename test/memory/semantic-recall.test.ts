// Semantic recall: where the database has pgvector, memories carry embeddings of the tenant's
// dimension and recall fuses vector similarity with the text ranking (reciprocal rank fusion)
// in one statement, never reaching another tenant's or another agent's vectors however near.
// Where it has none (the embedded PostgreSQL), recall is text-only and says so, and a store
// with an embedding is refused (400) with nothing written. Which of the two runs depends on
// the server the suite runs on: DATABASE_URL pointing at a PostgreSQL with pgvector (CI
// builds it for the machine's PostgreSQL 15) runs the first, the embedded default the second.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bearer, expectProblem, type SignedUpTenant } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { call, createAgent, tenantOn } from './memory-api.js';

const DIMENSION = 384;

/** Whether the server the suite runs on can give this database pgvector. */
async function pgvectorOnServer(): Promise<string | undefined> {
  if (inject('embeddedCluster')) return 'the embedded PostgreSQL has no pgvector (run with DATABASE_URL at a server that has it, as CI does)';
  const client = new pg.Client({ connectionString: inject('adminUrl') });
  await client.connect();
  try {
    const { rowCount } = await client.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`);
    return rowCount ? undefined : 'the PostgreSQL at DATABASE_URL has no pgvector installed (.ci/run builds it from ../shared/vendor)';
  } finally {
    await client.end();
  }
}

const withoutPgvector = await pgvectorOnServer();

/** A unit vector at `angle` radians in the plane of the first two axes: cosine similarity is cos(Δangle). */
function direction(angle: number, dimension = DIMENSION): number[] {
  const vector = new Array<number>(dimension).fill(0);
  vector[0] = Math.cos(angle);
  vector[1] = Math.sin(angle);
  return vector;
}

let testApp: TestApp;

beforeAll(async () => {
  testApp = await startTestApp();
});

afterAll(async () => {
  await testApp?.close();
});

async function setDimension(tenant: SignedUpTenant, dimension: number | null): Promise<void> {
  const response = await call(testApp, tenant, 'PATCH', '/v1/memory-settings', { embeddingDimension: dimension });
  expect(response.statusCode, response.body).toBe(200);
  expect(response.json().embeddingDimension).toBe(dimension);
}

async function store(tenant: SignedUpTenant, body: Record<string, unknown>): Promise<string> {
  const response = await call(testApp, tenant, 'POST', '/v1/memories', body);
  expect(response.statusCode, response.body).toBe(201);
  return response.json().memory.id;
}

describe.skipIf(withoutPgvector !== undefined)('semantic recall where the database has pgvector', () => {
  let tenant: SignedUpTenant;
  let other: SignedUpTenant;
  let near: string;
  let far: string;
  let textOnly: string;
  let both: string;

  beforeAll(async () => {
    tenant = await tenantOn(testApp, 'pro');
    other = await tenantOn(testApp, 'pro');
    await setDimension(tenant, DIMENSION);
    await setDimension(other, DIMENSION);
    near = await store(tenant, { content: 'the quarterly numbers came in', embedding: direction(0.1) });
    far = await store(tenant, { content: 'an unrelated recipe for bread', embedding: direction(1.5) });
    textOnly = await store(tenant, { content: 'telescope mirror polishing schedule' });
    both = await store(tenant, { content: 'telescope budget for the quarter', embedding: direction(0.2) });
    // The other tenant holds many vectors nearer to the query than any of the tenant's.
    await store(other, { content: 'the other tenant telescope secret', embedding: direction(0) });
    await testApp.database.admin.query(
      `INSERT INTO memories (tenant_id, id, content, embedding)
       SELECT $1, gen_random_uuid(), 'crowding vector ' || n, $2::real[]::vector FROM generate_series(1, 300) n`,
      [other.tenantId, direction(0.001)],
    );
  });

  it('migrated the embedding column and its HNSW indexes', async () => {
    const { rows } = await testApp.database.admin.query(
      `SELECT indexname FROM pg_indexes WHERE tablename = 'memories' AND indexdef LIKE '%hnsw%' ORDER BY 1`,
    );
    expect(rows.map((row) => row.indexname)).toContain('memories_embedding_384_idx');
  });

  it('fuses the text and vector rankings by reciprocal rank fusion, with every score part', async () => {
    const response = await call(testApp, tenant, 'POST', '/v1/memories/recall', { q: 'telescope', embedding: direction(0), limit: 10 });
    expect(response.statusCode, response.body).toBe(200);
    const answer = response.json();
    expect(answer).toMatchObject({ strategy: 'hybrid', semantic: { available: true } });
    const ids = answer.data.map((row: { memory: { id: string } }) => row.memory.id);
    // In both arms first; then the nearest vector and the text match; the far vector last.
    expect(ids[0]).toBe(both);
    expect(ids).toEqual(expect.arrayContaining([near, textOnly, far]));
    expect(ids.indexOf(far)).toBe(ids.length - 1);
    const first = answer.data[0].parts;
    expect(first.vector).toBeCloseTo(Math.cos(0.2), 5);
    expect(first.textRank).toBe(1);
    expect(first.vectorRank).toBe(2);
    expect(first.rrf).toBeCloseTo(1 / 61 + 1 / 62, 10);
    expect(answer.data[0].score).toBe(first.rrf);
    const text = answer.data.find((row: { memory: { id: string } }) => row.memory.id === textOnly).parts;
    expect(text).toMatchObject({ vector: null, vectorRank: null, textRank: 2 });
    expect(text.rrf).toBeCloseTo(1 / 62, 10);
  });

  it("never returns another tenant's vectors, however much nearer, and still finds the tenant's own", async () => {
    const response = await call(testApp, tenant, 'POST', '/v1/memories/recall', { q: 'zzzz nothing matches these words', embedding: direction(0), limit: 3 });
    expect(response.statusCode, response.body).toBe(200);
    const ids = response.json().data.map((row: { memory: { id: string } }) => row.memory.id);
    expect(ids).toEqual([near, both, far]);
    const { rows } = await testApp.database.admin.query('SELECT id FROM memories WHERE tenant_id = $1', [other.tenantId]);
    const others = new Set(rows.map((row) => row.id));
    expect(ids.some((id: string) => others.has(id))).toBe(false);
  });

  it("keeps an agent's key to its agent's vectors", async () => {
    const agent1 = await createAgent(testApp, tenant, 'vector one');
    const agent2 = await createAgent(testApp, tenant, 'vector two');
    const mine = await store(tenant, { content: 'first agent vector memory', agentId: agent1.id, embedding: direction(0.4) });
    await store(tenant, { content: 'second agent vector memory', agentId: agent2.id, embedding: direction(0) });
    const key = (await call(testApp, tenant, 'POST', `/v1/agents/${agent1.id}/api-keys`, { name: 'vectors' })).json().key;
    const response = await testApp.app.inject({ method: 'POST', url: '/v1/memories/recall', headers: bearer(key), payload: { q: 'vector memory', embedding: direction(0) } });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().data.map((row: { memory: { id: string } }) => row.memory.id)).toEqual([mine]);
    const crossing = await testApp.app.inject({ method: 'POST', url: '/v1/memories/recall', headers: bearer(key), payload: { q: 'vector', agentId: agent2.id, embedding: direction(0) } });
    expectProblem(crossing, 403, 'forbidden');
  });

  it('answers 400 for an embedding of the wrong length, on store and recall, and writes nothing', async () => {
    const before = await testApp.database.admin.query('SELECT count(*)::int AS n FROM memories WHERE tenant_id = $1', [tenant.tenantId]);
    expectProblem(await call(testApp, tenant, 'POST', '/v1/memories', { content: 'short vector', embedding: [1, 2, 3] }), 400, 'validation-failed');
    expectProblem(await call(testApp, tenant, 'POST', '/v1/memories/recall', { q: 'telescope', embedding: [1, 2, 3] }), 400, 'validation-failed');
    expectProblem(await call(testApp, tenant, 'POST', '/v1/memories', { content: 'not numbers', embedding: ['a'] }), 400, 'validation-failed');
    const after = await testApp.database.admin.query('SELECT count(*)::int AS n FROM memories WHERE tenant_id = $1', [tenant.tenantId]);
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('answers 400 for an embedding before the tenant set its dimension', async () => {
    const fresh = await tenantOn(testApp, 'free');
    expectProblem(await call(testApp, fresh, 'POST', '/v1/memories', { content: 'too early', embedding: direction(0) }), 400, 'validation-failed');
    expectProblem(await call(testApp, fresh, 'POST', '/v1/memories/recall', { q: 'early', embedding: direction(0) }), 400, 'validation-failed');
  });

  it('drops the embedding when the content it describes changes', async () => {
    const id = await store(tenant, { content: 'words the embedding was made from', embedding: direction(0.3) });
    expect((await call(testApp, tenant, 'PATCH', `/v1/memories/${id}`, { content: 'entirely different words now' })).statusCode).toBe(200);
    const { rows } = await testApp.database.admin.query('SELECT embedding IS NULL AS cleared FROM memories WHERE id = $1', [id]);
    expect(rows[0].cleared).toBe(true);
  });
});

describe.skipIf(withoutPgvector === undefined)(`without pgvector (${withoutPgvector ?? 'pgvector is present'})`, () => {
  let tenant: SignedUpTenant;

  beforeAll(async () => {
    tenant = await tenantOn(testApp, 'pro');
    await setDimension(tenant, 3);
    await store(tenant, { content: 'the telescope arrived on tuesday' });
  });

  it('recalls by text and says why, when an embedding is sent', async () => {
    const response = await call(testApp, tenant, 'POST', '/v1/memories/recall', { q: 'telescope', embedding: [1, 0, 0] });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ strategy: 'text', semantic: { available: false, reason: expect.stringContaining('pgvector') } });
    expect(response.json().data).toHaveLength(1);
  });

  it('refuses a store with an embedding (400) and writes nothing', async () => {
    const response = await call(testApp, tenant, 'POST', '/v1/memories', { content: 'with a vector', embedding: [1, 0, 0] });
    expectProblem(response, 400, 'validation-failed');
    expect(response.json().detail).toContain('pgvector');
    const { rowCount } = await testApp.database.admin.query(`SELECT 1 FROM memories WHERE content = 'with a vector'`);
    expect(rowCount).toBe(0);
  });

  it('has no embedding column to leak through', async () => {
    const { rowCount } = await testApp.database.admin.query(`SELECT 1 FROM pg_attribute WHERE attrelid = 'memories'::regclass AND attname = 'embedding'`);
    expect(rowCount).toBe(0);
  });
});
