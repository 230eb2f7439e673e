// The holes the memory service this module replaces had, each tried by tenant B against
// tenant A and each run three times: both isolation layers, RLS alone (query filter off), and
// the query filter alone (RLS bypassed as the table owner). Recall, the timeline, the list,
// narrate, stats, history, forget-by-filter and the agent list are the module's own queries,
// run in B's scope with A's words, A's ids and filters that match everything; none may see or
// change A's rows.

import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { listAgents } from '../../src/memory/agent-repository.js';
import { forgetMemories, memoryHistory, pageMemories } from '../../src/memory/memory-repository.js';
import { MemoryRecall } from '../../src/memory/memory-recall.js';
import { MemoryStats } from '../../src/memory/memory-stats.js';
import type { MemoryDatabase, MemoryTx } from '../../src/memory/memory-tables.js';
import { RecallReinforcement } from '../../src/memory/recall-reinforcement.js';
import { recallQuery, reinforceRecalled } from '../../src/memory/recall-repository.js';
import { runWithContext } from '../../src/tenancy/context.js';
import type { UserActor } from '../../src/tenancy/actor.js';
import { systemClock } from '../../src/clock.js';
import { asTenant, startIsolationHarness, type IsolationHarness } from '../support/isolation-harness.js';
import type { TestTables } from '../support/modules.js';
import type { SeededTenant } from '../support/seed.js';

let harness: IsolationHarness;
let a: SeededTenant;
let b: SeededTenant;

const modes = {
  'both layers': () => harness.bothLayers(),
  'RLS alone (query filter off)': () => harness.rlsOnly(),
  'query filter alone (RLS bypassed as owner)': () => harness.filterOnly(),
} as const;

/** Words and filters that would find A's memory if the tenant were forgotten. */
const A_WORDS = 'secret memory tenant release plans';
const EVERYTHING = { until: new Date('9999-01-01T00:00:00Z') };

beforeAll(async () => {
  harness = await startIsolationHarness();
  ({ a, b } = harness);
});

afterAll(() => harness.close());

/** A's memory rows (memories and versions), read past both layers. */
async function memoryRowsOfA(): Promise<string[]> {
  const { rows } = await harness.database.admin.query<{ row: string }>(
    `SELECT row_to_json(m)::text AS row FROM memories m WHERE tenant_id = $1
     UNION ALL SELECT row_to_json(v)::text FROM memory_versions v WHERE tenant_id = $1 ORDER BY 1`,
    [a.tenantId],
  );
  return rows.map((row) => row.row);
}

function actorOfB(): UserActor {
  return { kind: 'user', userId: b.userId, tenantId: b.tenantId, role: 'owner', plan: 'enterprise', requestId: 'attack' };
}

for (const [mode, makeDb] of Object.entries(modes)) {
  describe(`the seed holes, tried by B: ${mode}`, () => {
    let testDb: Database<TestTables>;
    let db: MemoryDatabase;
    let before: string[];
    /** The module's queries run as B, in this mode. */
    const asB = <T>(work: (tx: MemoryTx) => Promise<T>): Promise<T> => asTenant(b, testDb, (tx) => work(tx as unknown as MemoryTx));

    beforeAll(async () => {
      testDb = makeDb();
      // The same database, typed as the module's use cases take it.
      db = testDb as unknown as MemoryDatabase;
      before = await memoryRowsOfA();
    });

    afterEach(async () => {
      // Forget-by-filter forgets B's own memory; bring it back for the next attack.
      await harness.database.admin.query('UPDATE memories SET deleted_at = NULL WHERE tenant_id = $1', [b.tenantId]);
      expect(await memoryRowsOfA()).toEqual(before);
    });

    it("recall with A's words finds B's memory only, and reinforces only B's", async () => {
      const recall = new MemoryRecall(db, systemClock, new RecallReinforcement(db, systemClock, pino({ level: 'silent' })));
      const rows = await runWithContext({ requestId: 'attack', tenantId: b.tenantId }, () => recall.recall(actorOfB(), { q: A_WORDS, filter: {}, limit: 50 }));
      expect(rows.map((row) => row.id)).toEqual([b.memoryId]);
      // The reinforcement write, handed A's id, changes nothing of A's.
      await asB((tx) => reinforceRecalled(tx, new Map([[a.memoryId, 5]]), new Date()));
    });

    it("recall filtered by A's agent finds nothing", async () => {
      const rows = await asB((tx) => recallQuery(tx, A_WORDS, { agentId: a.agentId }, 50, new Date()).execute());
      expect(rows).toEqual([]);
    });

    it("the timeline and the list hold B's memories only, whatever the filter", async () => {
      for (const sort of ['asc', 'desc'] as const) {
        const page = await asB((tx) => pageMemories(tx, {}, { limit: 100, sort }));
        expect(page.rows.map((row) => row.id)).toEqual([b.memoryId]);
        const byAgentOfA = await asB((tx) => pageMemories(tx, { agentId: a.agentId }, { limit: 100, sort }));
        expect(byAgentOfA.rows).toEqual([]);
      }
    });

    it("narrate tells B's memories only", async () => {
      const recall = new MemoryRecall(db, systemClock, new RecallReinforcement(db, systemClock, pino({ level: 'silent' })));
      const narrative = await runWithContext({ requestId: 'attack', tenantId: b.tenantId }, () => recall.narrate(actorOfB(), { q: A_WORDS, filter: {}, limit: 50 }));
      expect(narrative.events.map((event) => event.id)).toEqual([b.memoryId]);
      expect(narrative.text).not.toContain('tenant A');
    });

    it("stats count B's memories, agents and zone moves only", async () => {
      // A's memory moved a minute ago; B's never did.
      await harness.database.admin.query(`UPDATE memories SET zoned_at = now() - interval '1 minute' WHERE id = $1`, [a.memoryId]);
      const stats = new MemoryStats(db, { limitFor: async () => null }, systemClock);
      const figures = await runWithContext({ requestId: 'attack', tenantId: b.tenantId }, () => stats.stats(actorOfB()));
      expect(figures).toMatchObject({ memories: 1, quota: { limit: null, used: 1 }, byAgent: [{ agentId: b.agentId, name: 'secret-agent-B', memories: 1 }] });
      expect(Object.values(figures.movedLastDay)).toEqual([0, 0, 0, 0, 0]);
      await harness.database.admin.query('UPDATE memories SET zoned_at = NULL WHERE id = $1', [a.memoryId]);
    });

    it("the agent list holds B's agents only", async () => {
      const page = await asB((tx) => listAgents(tx, { limit: 100, sort: 'desc' }));
      expect(page.rows.map((row) => row.id)).toEqual([b.agentId]);
    });

    it("history of A's memory is empty", async () => {
      expect((await asB((tx) => memoryHistory(tx, a.memoryId, { limit: 100, sort: 'desc' }))).rows).toEqual([]);
    });

    it("forget-by-filter forgets none of A's: by A's agent, by A's tag, and by a filter matching everything", async () => {
      expect(await asB((tx) => forgetMemories(tx, { agentId: a.agentId }, new Date()))).toBe(0);
      expect(await asB((tx) => forgetMemories(tx, { tags: ['secret-tag-A'] }, new Date()))).toBe(0);
      expect(await asB((tx) => forgetMemories(tx, EVERYTHING, new Date()))).toBe(1);
    });
  });
}
