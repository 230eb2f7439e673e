// The memory module's plan limits and metering, through metering's public API: agents and
// memories are levels (what the tenant holds now), admitted under the counter's row lock so
// concurrent creates at the limit never overshoot; `memories` and `storage_bytes` are
// recorded as usage events after every change, so GET /v1/usage and billing see them.
//
// A store must not count the tenant's memories (hundreds of thousands of rows, under the lock
// every store of the tenant waits for), so the two level counters ARE the levels: a store adds
// one memory and its bytes to them; every path that removes memories or changes their size
// (forget, forget by filter, deleting an agent, an update of content) sets them to a true count
// taken while holding the lock. Rows written past the module (SQL by hand) are counted at the
// next such settle.

import { sql } from 'kysely';
import { platformTx } from '../db/database.js';
import { newId } from '../db/ids.js';
import type { ActionUsage } from '../metering/action-usage.js';
import { NO_PERIOD_START } from '../metering/billing-period.js';
import type { MeteredTenant, Quotas } from '../metering/quotas.js';
import type { UsageRecorder } from '../metering/usage-recorder.js';
import type { MemoryTx } from './memory-tables.js';

export const MEMORY_METRICS = { memories: 'memories', storageBytes: 'storage_bytes' } as const;

/** What the tenant holds: live memories and the bytes of their content. */
export interface MemoryLevel {
  readonly memories: number;
  readonly bytes: number;
}

/** Counts live memories and their bytes (index-only on memories_tenant_created_idx): the settle after a removal. */
export async function memoryLevel(tx: MemoryTx): Promise<MemoryLevel> {
  const row = await tx
    .selectFrom('memories')
    .select((eb) => [eb.fn.countAll<string>().as('memories'), sql<string>`coalesce(sum(${sql.ref('content_bytes')}), 0)`.as('bytes')])
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
  return { memories: Number(row.memories), bytes: Number(row.bytes) };
}

/** A level counter's value (0 before its first use); read while lock() holds the memories counter. */
async function counterLevel(tx: MemoryTx, metric: string): Promise<number> {
  const row = await platformTx(tx)
    .selectFrom('usage_counters')
    .select('used')
    .where('metric', '=', metric)
    .where('period_start', '=', NO_PERIOD_START)
    .executeTakeFirst();
  return Number(row?.used ?? 0);
}

async function liveAgents(tx: MemoryTx): Promise<number> {
  const row = await tx.selectFrom('agents').select((eb) => eb.fn.countAll<string>().as('n')).where('deleted_at', 'is', null).executeTakeFirstOrThrow();
  return Number(row.n);
}

export class MemoryUsage {
  constructor(
    private readonly actions: ActionUsage,
    private readonly quotas: Quotas,
    private readonly recorder: UsageRecorder,
  ) {}

  /** One more agent, before it is written: 403 plan-limit-reached past the plan's `agents`. */
  async agentAdded(tx: MemoryTx, tenant: MeteredTenant): Promise<void> {
    await this.actions.agentAdded(platformTx(tx), tenant, () => liveAgents(tx));
  }

  /** Before an agent is deleted: the agents counter's lock, in agentAdded's order. */
  async lockAgents(tx: MemoryTx): Promise<void> {
    await this.actions.lockAgents(platformTx(tx));
  }

  /** After an agent was deleted: the counter and the agents series follow the true count. */
  async agentRemoved(tx: MemoryTx, tenant: MeteredTenant): Promise<void> {
    await this.actions.agentsRemoved(platformTx(tx), tenant, () => liveAgents(tx));
  }

  /**
   * Takes the memories counter's row lock until commit. Every change of a tenant's memories
   * takes it first, so stores of one tenant run one at a time: that is what lets the
   * near-duplicate check see the memory a concurrent store just wrote.
   */
  async lock(tx: MemoryTx): Promise<void> {
    await this.quotas.lockLevel(platformTx(tx), MEMORY_METRICS.memories);
  }

  /**
   * One more memory of `bytes`, before it is written, inside lock(): 403 plan-limit-reached
   * past the plan's `memories`. Both counters move by what is added; nothing is counted.
   */
  async memoryAdded(tx: MemoryTx, tenant: MeteredTenant, bytes: number): Promise<void> {
    const memories = await this.quotas.admitLevel(platformTx(tx), tenant, MEMORY_METRICS.memories, () => counterLevel(tx, MEMORY_METRICS.memories));
    const level = { memories, bytes: (await counterLevel(tx, MEMORY_METRICS.storageBytes)) + bytes };
    await this.quotas.settleLevel(platformTx(tx), MEMORY_METRICS.storageBytes, level.bytes);
    await this.#record(tx, tenant.tenantId, level);
  }

  /** After memories were forgotten or changed in size, inside lock(): counters and series follow a true count. */
  async memoriesChanged(tx: MemoryTx, tenant: MeteredTenant): Promise<void> {
    const level = await memoryLevel(tx);
    await this.quotas.settleLevel(platformTx(tx), MEMORY_METRICS.memories, level.memories);
    await this.quotas.settleLevel(platformTx(tx), MEMORY_METRICS.storageBytes, level.bytes);
    await this.#record(tx, tenant.tenantId, level);
  }

  async #record(tx: MemoryTx, tenantId: string, level: MemoryLevel): Promise<void> {
    await this.recorder.recordIn(platformTx(tx), tenantId, [
      { metric: MEMORY_METRICS.memories, quantity: level.memories, idempotency_key: `memories:${newId()}` },
      { metric: MEMORY_METRICS.storageBytes, quantity: level.bytes, idempotency_key: `storage_bytes:${newId()}` },
    ]);
  }
}
