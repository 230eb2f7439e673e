// Stats of the tenant's memories, every figure computed by PostgreSQL (aggregates over the
// tenant's rows; nothing is loaded into Node to be counted): totals, counts per zone and per
// agent, the memories the re-zoning job moved into each zone in the last day, the quota used,
// and the most recalled memories.

import { sql } from 'kysely';
import { DAY_MS, type Clock } from '../clock.js';
import type { Plans } from '../plans/plans.js';
import type { Actor } from '../tenancy/actor.js';
import { actingAgent } from './agent-scope.js';
import { ZONES } from './memory-scoring.js';
import type { MemoryDatabase, MemoryTx, Zone } from './memory-tables.js';
import { MEMORY_METRICS } from './memory-usage.js';

export interface MemoryStatistics {
  readonly memories: number;
  readonly bytes: number;
  readonly averageImportance: number | null;
  readonly recalls: number;
  readonly reinforcements: number;
  readonly byZone: Readonly<Record<Zone, number>>;
  /** Memories the re-zoning job moved into each zone in the last 24 hours (a memory moved twice counts once, where it went last). */
  readonly movedLastDay: Readonly<Record<Zone, number>>;
  readonly byAgent: { readonly agentId: string | null; readonly name: string | null; readonly memories: number }[];
  readonly quota: { readonly limit: number | null; readonly used: number };
  readonly mostRecalled: { readonly id: string; readonly content: string; readonly recallCount: number }[];
}

/** Memories listed under mostRecalled. */
const MOST_RECALLED = 5;

async function totals(tx: MemoryTx, agentId: string | undefined) {
  return tx
    .selectFrom('memories')
    .select((eb) => [
      eb.fn.countAll<string>().as('memories'),
      sql<string>`coalesce(sum(${sql.ref('content_bytes')}), 0)`.as('bytes'),
      sql<number | null>`avg(${sql.ref('importance')})::float8`.as('average_importance'),
      sql<string>`coalesce(sum(${sql.ref('recall_count')}), 0)`.as('recalls'),
      sql<string>`coalesce(sum(${sql.ref('reinforcement_count')}), 0)`.as('reinforcements'),
    ])
    .where('deleted_at', 'is', null)
    .$if(agentId !== undefined, (query) => query.where('agent_id', '=', agentId!))
    .executeTakeFirstOrThrow();
}

function perZone(tx: MemoryTx, agentId: string | undefined, movedSince: Date) {
  return tx
    .selectFrom('memories')
    .select((eb) => ['zone', eb.fn.countAll<string>().as('memories'), eb.fn.countAll<string>().filterWhere('zoned_at', '>', movedSince).as('moved')])
    .where('deleted_at', 'is', null)
    .$if(agentId !== undefined, (query) => query.where('agent_id', '=', agentId!))
    .groupBy('zone')
    .execute();
}

function perAgent(tx: MemoryTx, agentId: string | undefined) {
  return tx
    .selectFrom('memories')
    .leftJoin('agents', 'agents.id', 'memories.agent_id')
    .select((eb) => ['memories.agent_id', 'agents.name', eb.fn.countAll<string>().as('memories')])
    .where('memories.deleted_at', 'is', null)
    .$if(agentId !== undefined, (query) => query.where('memories.agent_id', '=', agentId!))
    .groupBy(['memories.agent_id', 'agents.name'])
    .orderBy('memories', 'desc')
    .execute();
}

function mostRecalled(tx: MemoryTx, agentId: string | undefined) {
  return tx
    .selectFrom('memories')
    .select(['id', 'content', 'recall_count'])
    .where('deleted_at', 'is', null)
    .$if(agentId !== undefined, (query) => query.where('agent_id', '=', agentId!))
    .where('recall_count', '>', 0)
    .orderBy('recall_count', 'desc')
    .orderBy('id')
    .limit(MOST_RECALLED)
    .execute();
}

export class MemoryStats {
  constructor(
    private readonly db: MemoryDatabase,
    private readonly plans: Pick<Plans, 'limitFor'>,
    private readonly clock: Clock,
  ) {}

  async stats(actor: Actor): Promise<MemoryStatistics> {
    const limit = await this.plans.limitFor(actor.plan, MEMORY_METRICS.memories);
    return this.db.tenant(async (tx) => {
      // An agent's key counts only its agent's memories.
      const agent = actingAgent(actor);
      const movedSince = new Date(this.clock.now().getTime() - DAY_MS);
      const [total, zones, agents, recalled] = [
        await totals(tx, agent),
        await perZone(tx, agent, movedSince),
        await perAgent(tx, agent),
        await mostRecalled(tx, agent),
      ];
      const byZone = Object.fromEntries(ZONES.map(({ zone }) => [zone, 0])) as Record<Zone, number>;
      const movedLastDay = { ...byZone };
      for (const row of zones) {
        byZone[row.zone] = Number(row.memories);
        movedLastDay[row.zone] = Number(row.moved);
      }
      const memories = Number(total.memories);
      return {
        memories,
        bytes: Number(total.bytes),
        averageImportance: total.average_importance,
        recalls: Number(total.recalls),
        reinforcements: Number(total.reinforcements),
        byZone,
        movedLastDay,
        byAgent: agents.map((row) => ({ agentId: row.agent_id, name: row.name, memories: Number(row.memories) })),
        quota: { limit, used: memories },
        mostRecalled: recalled.map((row) => ({ id: row.id, content: row.content, recallCount: row.recall_count })),
      };
    });
  }
}
