// tenantry_memory.recall_text_candidates and near_duplicate run as the service role, past row-level
// security, so that recall's words and a store's content reach the GIN indexes
// (recall-plan.test.ts). These tests hold them to what makes that safe: they answer for the
// transaction's own tenant only, and nothing without one; they are what their migrations say
// (security definer, pinned search path, callable by the app role only); the query filter admits
// them as FROM sources and nowhere else; and were recall's ever to return another tenant's ids,
// each isolation layer alone still keeps those rows out of recall.

import pg from 'pg';
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantScopePlugin, TenantScopeViolation } from '../../src/db/tenant-scope-plugin.js';
import type { MemoryTx } from '../../src/memory/memory-tables.js';
import { recallQuery } from '../../src/memory/recall-repository.js';
import { asTenant, startIsolationHarness, type IsolationHarness } from '../support/isolation-harness.js';
import { TEST_REGISTRY, type TestTables } from '../support/modules.js';
import { TEST_ROLES } from '../support/roles.js';

const SIGNATURE = 'tenantry_memory.recall_text_candidates(text, uuid, text[], text[], timestamptz, timestamptz, real)';
const NEAR_DUPLICATE = 'tenantry_memory.near_duplicate(text, uuid, real)';
/** Words of each seeded tenant's memory ("secret memory of tenant A about release plans"). */
const WORDS = 'secret release plans';

let harness: IsolationHarness;

beforeAll(async () => {
  harness = await startIsolationHarness();
});

afterAll(() => harness.close());

/** The ids a function answers as the app role, with app.tenant_id set as given (or left unset). */
async function idsAs(tenantSetting: string | undefined, statement: string, params: unknown[]): Promise<string[]> {
  const client = new pg.Client({ connectionString: harness.database.url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL ROLE ${TEST_ROLES.app}`);
    if (tenantSetting !== undefined) await client.query(`SET LOCAL app.tenant_id = '${tenantSetting}'`);
    const { rows } = await client.query<{ id: string }>(statement, params);
    await client.query('ROLLBACK');
    return rows.map((row) => row.id);
  } finally {
    await client.end();
  }
}

const candidatesAs = (tenantSetting: string | undefined, q = WORDS) =>
  idsAs(tenantSetting, 'SELECT id FROM tenantry_memory.recall_text_candidates($1, NULL, NULL, NULL, NULL, NULL, NULL)', [q]);
const nearDuplicateAs = (tenantSetting: string | undefined, content: string, agent: string | null) =>
  idsAs(tenantSetting, 'SELECT id FROM tenantry_memory.near_duplicate($1, $2, 0.5)', [content, agent]);

describe('recall_text_candidates', () => {
  it("answers with the transaction's own tenant's memories only", async () => {
    expect(await candidatesAs(harness.a.tenantId)).toEqual([harness.a.memoryId]);
    expect(await candidatesAs(harness.b.tenantId)).toEqual([harness.b.memoryId]);
    // A's own words, in B's transaction: B's memory shares "secret" and "release plans", never A's.
    expect(await candidatesAs(harness.b.tenantId, 'tenant A')).not.toContain(harness.a.memoryId);
  });

  it('answers nothing without a tenant: an empty setting, or none at all', async () => {
    expect(await candidatesAs('')).toEqual([]);
    expect(await candidatesAs(undefined)).toEqual([]);
  });

  for (const signature of [SIGNATURE, NEAR_DUPLICATE]) {
    it(`${signature.split('(')[0]} is a security definer of the service role with a pinned search path, callable by the app role, not by PUBLIC`, async () => {
      const { rows } = await harness.database.admin.query<{ definer: boolean; owner: string; config: string[]; app: boolean; public: boolean; params: string[] }>(
        `SELECT p.prosecdef AS definer, pg_get_userbyid(p.proowner) AS owner, p.proconfig AS config,
                has_function_privilege($1, p.oid, 'EXECUTE') AS app,
                coalesce(p.proacl::text ~ '(^|[{,])=X', true) AS public, p.proargnames AS params
           FROM pg_proc p WHERE p.oid = $2::regprocedure`,
        [TEST_ROLES.app, signature],
      );
      expect(rows[0]).toMatchObject({ definer: true, owner: TEST_ROLES.service, app: true, public: false });
      expect(rows[0]!.config).toContain('search_path=pg_catalog, public, pg_temp');
      // No argument names a tenant: the tenant is the transaction's.
      expect(rows[0]!.params.filter((name) => /tenant/.test(name))).toEqual([]);
    });
  }
});

describe('near_duplicate', () => {
  const contentOfA = 'secret memory of tenant A about release plans';

  it("answers with the transaction's own tenant's memory only, of the agent named", async () => {
    expect(await nearDuplicateAs(harness.a.tenantId, contentOfA, harness.a.agentId)).toEqual([harness.a.memoryId]);
    // In B's transaction, A's very words find B's own near-copy, never A's memory.
    expect(await nearDuplicateAs(harness.b.tenantId, contentOfA, harness.b.agentId)).toEqual([harness.b.memoryId]);
    expect(await nearDuplicateAs(harness.b.tenantId, contentOfA, harness.a.agentId)).toEqual([]);
  });

  it('answers only at or above the threshold, and leaves the caller its own trigram threshold', async () => {
    const client = new pg.Client({ connectionString: harness.database.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL ROLE ${TEST_ROLES.app}; SET LOCAL app.tenant_id = '${harness.a.tenantId}'`);
      const at = async (threshold: number) =>
        (await client.query('SELECT id, similarity FROM tenantry_memory.near_duplicate($1, $2, $3)', ['secret memory of tenant A', harness.a.agentId, threshold])).rows;
      const [found] = await at(0.3);
      expect(found).toMatchObject({ id: harness.a.memoryId });
      expect(await at(Math.min(1, found.similarity + 0.05))).toEqual([]);
      const { rows } = await client.query(`SELECT current_setting('pg_trgm.similarity_threshold') AS threshold`);
      expect(Number(rows[0].threshold)).toBe(0.3);
      await client.query('ROLLBACK');
    } finally {
      await client.end();
    }
  });

  it('answers nothing without a tenant: an empty setting, or none at all', async () => {
    expect(await nearDuplicateAs('', contentOfA, harness.a.agentId)).toEqual([]);
    expect(await nearDuplicateAs(undefined, contentOfA, harness.a.agentId)).toEqual([]);
  });
});

describe('the query filter and recall_text_candidates', () => {
  const scoped = new Kysely<TestTables>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (k) => new PostgresIntrospector(k),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
    plugins: [new TenantScopePlugin({ tenantTables: TEST_REGISTRY.tenantTables, tenantId: harness?.a.tenantId ?? '01a20817-8109-7101-a7b5-65e99a9897c4' })],
  });
  const call = (name: string) => scoped.fn<{ id: string }>(name, [sql`${'q'}::text`]);

  it('admits it as a FROM source, and scopes the tenant table joined to it', () => {
    const query = scoped.selectFrom(call('tenantry_memory.recall_text_candidates').as('c')).innerJoin('memories', 'memories.id', 'c.id').select('memories.id').compile();
    expect(query.sql).toMatch(/^select "memories"\."id" from tenantry_memory\.recall_text_candidates\(\$1::text\) as "c" inner join "memories" on \("memories"\."id" = "c"\."id"\) and "memories"\."tenant_id" = \$2$/);
  });

  it('refuses it anywhere else, and refuses any other schema function as a source', () => {
    for (const name of ['tenantry_memory.recall_candidates', 'tenantry_memory.recall_text_candidates']) {
      expect(() => scoped.selectFrom('memories').select(call(name).as('c')).compile()).toThrow(TenantScopeViolation);
      expect(() => scoped.selectFrom('memories').selectAll().where(sql<boolean>`exists (select 1 from ${sql.raw(name)}('q'))`).compile()).toThrow(TenantScopeViolation);
    }
    expect(() => scoped.selectFrom('memories').select(call('tenantry_memory.near_duplicate').as('d')).compile()).toThrow(TenantScopeViolation);
    expect(() => scoped.selectFrom(call('tenantry_access.verify_key').as('c')).selectAll().compile()).toThrow(TenantScopeViolation);
    expect(() => scoped.selectFrom(call('ts_stat').as('c')).selectAll().compile()).toThrow(TenantScopeViolation);
  });
});

describe('were it to leak, each layer alone still keeps the rows out', () => {
  beforeAll(async () => {
    // A broken version that forgets the tenant (the owner is kept: it still reads past RLS).
    await harness.database.admin.query(`
      CREATE OR REPLACE FUNCTION ${SIGNATURE.replace(/\(.*\)/, '(q text, agent uuid, zones text[], tags text[], since timestamptz, until timestamptz, min_importance real)')}
      RETURNS TABLE (id uuid, text_score float8, trigram_score float8, importance float8, touched_at timestamptz, uses integer)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
      AS $$ SELECT m.id, 1::float8, 1::float8, 1::float8, now(), 0 FROM memories m $$`);
    expect(await candidatesAs(harness.b.tenantId)).toEqual(expect.arrayContaining([harness.a.memoryId, harness.b.memoryId]));
  });

  const modes = {
    'both layers': () => harness.bothLayers(),
    'RLS alone (query filter off)': () => harness.rlsOnly(),
    'query filter alone (RLS bypassed as owner)': () => harness.filterOnly(),
  } as const;

  for (const [mode, makeDb] of Object.entries(modes)) {
    it(`recall as B holds B's memory only: ${mode}`, async () => {
      const rows = await asTenant(harness.b, makeDb(), (tx) => recallQuery(tx as unknown as MemoryTx, WORDS, {}, 50, new Date()).execute());
      expect(rows.map((row) => row.id)).toEqual([harness.b.memoryId]);
    });
  }
});
