// Recalling memories writes their recall count and last recall (batched, after the answer).
// Those writes must not feed the GIN indexes: every entry in a GIN pending list is read by every
// later recall's index scan until the list is merged. With room left on each page (memory
// migration 0007, fillfactor 90) PostgreSQL writes them as HOT updates, which add no index entry.

import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MemoryTx } from '../../src/memory/memory-tables.js';
import { reinforceRecalled } from '../../src/memory/recall-repository.js';
import { asTenant, startIsolationHarness, type IsolationHarness } from '../support/isolation-harness.js';

let harness: IsolationHarness;

beforeAll(async () => {
  harness = await startIsolationHarness();
  await harness.database.admin.query(
    `INSERT INTO memories (tenant_id, id, content, importance)
     SELECT $1, gen_random_uuid(), 'note ' || g || ' about ' || md5(g::text) || ' and ' || md5((g * 7)::text), 0.5
       FROM generate_series(1, 3000) g`,
    [harness.a.tenantId],
  );
  await harness.database.admin.query('VACUUM ANALYZE memories');
  await harness.database.admin.query('CREATE EXTENSION IF NOT EXISTS pgstattuple');
}, 120_000);

afterAll(() => harness.close());

/** Row versions waiting in the pending lists of the two GIN indexes. */
async function pendingIndexEntries(admin: pg.Pool): Promise<number> {
  const { rows } = await admin.query<{ pending: number }>(
    `SELECT sum((pgstatginindex(i::regclass)).pending_tuples)::int AS pending
       FROM unnest(ARRAY['memories_trigram_idx', 'memories_search_idx']) i`,
  );
  return rows[0]!.pending;
}

it("writes recalls' reinforcement without adding entries to the text indexes", async () => {
  const before = await pendingIndexEntries(harness.database.admin);
  // 200 memories spread over the table, as recalls of different words pick them.
  const { rows } = await harness.database.admin.query<{ id: string }>(
    'SELECT id FROM memories WHERE tenant_id = $1 ORDER BY md5(id::text) LIMIT 200',
    [harness.a.tenantId],
  );
  const recalled = new Map(rows.map((row, i) => [row.id, 1 + (i % 3)]));
  await asTenant(harness.a, harness.bothLayers(), (tx) => reinforceRecalled(tx as unknown as MemoryTx, recalled, new Date()));
  const { rows: counted } = await harness.database.admin.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM memories WHERE tenant_id = $1 AND recall_count > 0',
    [harness.a.tenantId],
  );
  expect(counted[0]!.n).toBe(200);
  // At the default fillfactor (100) every update is a new version in both indexes: 400 rows in
  // their pending lists (this test then fails); at 90 about four in five are HOT.
  const added = (await pendingIndexEntries(harness.database.admin)) - before;
  expect(added).toBeLessThan(200);
});
