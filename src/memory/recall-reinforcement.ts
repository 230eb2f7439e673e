// Recalling a memory reinforces it (recall_count, last_recalled_at), but recall itself stays a
// read: the recalled ids are noted in memory and written in batches, one unit of work per
// tenant per flush, at most every FLUSH_INTERVAL_MS. Writing in the recall's own transaction
// would make every recall a write, and concurrent recalls of the same popular memories would
// queue on their row locks; a job per recall would write an outbox row per recall instead.
// The cost: counts noted in the last interval are lost if the process dies. They only feed
// ranking and zones, which are estimates anyway, so that is the trade chosen.

import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { enterTenant } from '../tenancy/enter-tenant.js';
import { reinforceRecalled } from './recall-repository.js';
import type { MemoryDatabase } from './memory-tables.js';

const FLUSH_INTERVAL_MS = 1_000;

export class RecallReinforcement {
  /** tenant id -> memory id -> recalls not yet written. */
  #pending = new Map<string, Map<string, number>>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: MemoryDatabase,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Notes that the tenant recalled these memories; written by the next flush. */
  note(tenantId: string, memoryIds: readonly string[]): void {
    if (memoryIds.length === 0) return;
    let recalled = this.#pending.get(tenantId);
    if (!recalled) this.#pending.set(tenantId, (recalled = new Map()));
    for (const id of memoryIds) recalled.set(id, (recalled.get(id) ?? 0) + 1);
    // unref: a pending flush never keeps a process alive that is otherwise done.
    this.#timer ??= setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS).unref();
  }

  /** Writes everything noted so far, one unit of work per tenant; resolves once written. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    this.#pending = new Map();
    // Flushes run one after the other, so two never update the same rows against each other.
    this.#flushing = this.#flushing.then(() => this.#write(batch));
    return this.#flushing;
  }

  async #write(batch: ReadonlyMap<string, ReadonlyMap<string, number>>): Promise<void> {
    const at = this.clock.now();
    for (const [tenantId, recalled] of batch) {
      try {
        await enterTenant(tenantId, () => this.db.tenant((tx) => reinforceRecalled(tx, recalled, at)));
      } catch (error) {
        this.logger.warn({ err: error, tenant_id: tenantId, memories: recalled.size }, 'recall reinforcement not written');
      }
    }
  }
}
