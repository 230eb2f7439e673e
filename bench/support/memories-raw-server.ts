// The floor of bench:memories: recall as a team would write it by hand with Fastify and pg. No
// auth, no transaction, no role switch, no RLS (it logs in as the superuser, whom RLS never
// binds): the tenant comes from the X-Tenant-ID header and RAW_RECALL_SQL carries the tenant
// predicate. Same body schema and same JSON as Tenantry's POST /v1/memories/recall (its own
// schemas and view). Env: MEMORIES_DATABASE_URL, MEMORIES_POOL_SIZE.

import Fastify from 'fastify';
import pg from 'pg';
import type { Static } from 'typebox';
import { RecallAnswer, RecallBody } from '../../src/memory/memories.schemas.js';
import { recalledView } from '../../src/memory/memory-views.js';
import type { RecalledRow } from '../../src/memory/recall-repository.js';
import { RAW_RECALL_SQL } from './memories-raw-sql.js';

const TEXT_ONLY = { available: false as const, reason: 'text only' };

async function main(): Promise<void> {
  const pool = new pg.Pool({ connectionString: process.env.MEMORIES_DATABASE_URL, max: Number(process.env.MEMORIES_POOL_SIZE) });
  const app = Fastify({ logger: false });
  app.post<{ Body: Static<typeof RecallBody> }>('/v1/memories/recall', { schema: { body: RecallBody, response: { 200: RecallAnswer } } }, async (request, reply) => {
    const tenantId = request.headers['x-tenant-id'];
    if (typeof tenantId !== 'string') return reply.code(400).send({ error: 'X-Tenant-ID is required' });
    const { rows } = await pool.query<RecalledRow>(RAW_RECALL_SQL, [tenantId, request.body.q, request.body.limit ?? 10, new Date()]);
    return { strategy: 'text' as const, semantic: TEXT_ONLY, data: rows.map(recalledView) };
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(JSON.stringify({ address }) + '\n');
  process.on('SIGTERM', () => {
    void app.close().then(() => pool.end()).then(() => process.exit(0));
  });
}

await main();
