// The database of bench:memories, built with generate_series rather than the API: one tenant on
// the enterprise plan holding 100,000 memories (its owner, and an API key whose secret the bench
// knows), then 900 more tenants of 1,000 memories each, so the same tenant is measured at
// 100,000 and at 1,000,000 memories in the table. Content is twelve words drawn at random from a
// vocabulary of 5,000 made-up words (memoryWord), so a recalled word matches about 240 of the
// big tenant's memories. Seeded as the database superuser; the two GIN indexes are dropped
// during a load and rebuilt from their own definitions after it (far faster than row by row).

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';

export const VOCABULARY = 5_000;
export const WORDS_PER_MEMORY = 12;

/** Word `i` (1-based) of the vocabulary: eight letters a-p, the same in SQL (WORD_SQL) and here. */
export function memoryWord(i: number): string {
  return createHash('md5').update(`w${i}`).digest('hex').slice(0, 8).replace(/[0-9]/g, (d) => 'ghijklmnop'[Number(d)]!);
}

/** memoryWord of a random index in 1..VOCABULARY, in SQL. */
const WORD_SQL = `translate(substr(md5('w' || (1 + floor(random() * ${VOCABULARY}))::int), 1, 8), '0123456789', 'ghijklmnop')`;

export interface MemoriesTenant {
  readonly tenantId: string;
  /** tnt_<prefix>_<secret>, as a client would send it. */
  readonly apiKey: string;
}

/** Runs `work` on a superuser connection set up for a bulk load, then VACUUM ANALYZE. */
async function bulkLoad(url: string, work: (client: pg.Client) => Promise<void>): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const started = performance.now();
    // No commit waits; foreign-key triggers skipped (every reference below holds anyway).
    await client.query(`SET synchronous_commit = off; SET maintenance_work_mem = '512MB'; SET session_replication_role = replica`);
    const { rows } = await client.query<{ def: string }>(
      `SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indexrelid IN ('memories_search_idx'::regclass, 'memories_trigram_idx'::regclass)`,
    );
    await client.query('DROP INDEX memories_search_idx, memories_trigram_idx');
    await work(client);
    for (const { def } of rows) await client.query(def);
    await client.query('VACUUM ANALYZE');
    return (performance.now() - started) / 1000;
  } finally {
    await client.end();
  }
}

/** `count` memories for each tenant of the rows `tenants` selects (a column tenant_id), created over the last 90 days. */
function insertMemories(tenants: string, count: number): string {
  return `INSERT INTO memories (tenant_id, id, content, importance, created_at, updated_at)
    SELECT t.tenant_id, gen_random_uuid(),
           (SELECT string_agg(${WORD_SQL}, ' ') FROM generate_series(1, ${WORDS_PER_MEMORY}) k WHERE g > 0),
           round(random()::numeric, 2), now() - random() * interval '90 days', now() - random() * interval '90 days'
      FROM (${tenants}) t CROSS JOIN generate_series(1, ${count}) g`;
}

/** The measured tenant, its owner and key, and its memories. */
export async function seedMeasuredTenant(url: string, memories: number): Promise<{ tenant: MemoriesTenant; seconds: number }> {
  const stem = randomBytes(24).toString('base64url');
  const tenantId = randomUUID();
  const userId = randomUUID();
  const prefix = 'memo000000000001';
  const seconds = await bulkLoad(url, async (client) => {
    await client.query('BEGIN');
    await client.query(`INSERT INTO tenants (id, name, slug, plan) VALUES ($1, 'Memories bench', 'memories-bench', 'enterprise')`, [tenantId]);
    await client.query(`INSERT INTO users (id, email, name, status) VALUES ($1, 'owner@memories.test', 'Owner', 'active')`, [userId]);
    await client.query(`INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'owner')`, [tenantId, userId]);
    await client.query(
      `INSERT INTO api_keys (tenant_id, id, prefix, secret_hash, name, created_by)
       VALUES ($1, gen_random_uuid(), $2, sha256(convert_to($3, 'UTF8')), 'Bench key', $4)`,
      [tenantId, prefix, stem, userId],
    );
    await client.query(insertMemories(`SELECT '${tenantId}'::uuid AS tenant_id`, memories));
    await client.query('COMMIT');
  });
  return { tenant: { tenantId, apiKey: `tnt_${prefix}_${stem}` }, seconds };
}

/** `tenants` more tenants of `memoriesEach` memories, in batches of 100 tenants. */
export async function seedOtherTenants(url: string, tenants: number, memoriesEach: number, log: (line: string) => void): Promise<number> {
  return bulkLoad(url, async (client) => {
    for (let first = 1; first <= tenants; first += 100) {
      const last = Math.min(tenants, first + 99);
      await client.query('BEGIN');
      await client.query(`CREATE TEMP TABLE batch ON COMMIT DROP AS SELECT gen_random_uuid() AS tenant_id, g FROM generate_series(${first}, ${last}) g`);
      await client.query(`INSERT INTO tenants (id, name, slug, plan) SELECT tenant_id, 'Other ' || g, 'other-' || lpad(g::text, 5, '0'), 'pro' FROM batch`);
      await client.query(insertMemories('SELECT tenant_id FROM batch', memoriesEach));
      await client.query('COMMIT');
      log(`  tenants ${first}-${last} seeded`);
    }
  });
}
