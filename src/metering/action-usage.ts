// What domain actions call, inside their own transaction, to be metered: take quota before
// the action (refusing it past a hard limit) and record the usage event with it, so the
// quota, the event and the action commit or roll back together.

import type { Tx } from '../db/database.js';
import { newId } from '../db/ids.js';
import { OWN_METRICS } from './metric-catalog.js';
import type { Quotas } from './quotas.js';
import type { UsageRecorder } from './usage-recorder.js';

export class ActionUsage {
  constructor(
    private readonly quotas: Quotas,
    private readonly recorder: UsageRecorder,
  ) {}

  /**
   * One more task: throws 429 quota-exceeded past the plan's per-period limit.
   *
   * @example
   *   await db.tenant(async (tx) => { await usage.taskCreated(tx, task.id); await insertTask(tx, task); });
   */
  async taskCreated(tx: Tx, taskId: string): Promise<void> {
    await this.quotas.take(tx, OWN_METRICS.tasks);
    await this.recorder.recordIn(tx, [{ metric: OWN_METRICS.tasks, quantity: 1, idempotency_key: `task:${taskId}` }]);
  }

  /**
   * One more seat, before the membership is written: throws 403 plan-limit-reached past the
   * plan's seat limit. `countSeats` counts live members while the seat counter is locked.
   */
  async seatAdded(tx: Tx, countSeats: (tx: Tx) => Promise<number>): Promise<void> {
    const seats = await this.quotas.admitLevel(tx, OWN_METRICS.seats, countSeats);
    await this.#recordSeats(tx, seats);
  }

  /**
   * Before a member is removed: takes the seat counter's lock first, in the same order as
   * seatAdded, so an add and a removal of the same user cannot deadlock.
   */
  async lockSeats(tx: Tx): Promise<void> {
    await this.quotas.lockLevel(tx, OWN_METRICS.seats);
  }

  /** After a member left: the seat counter and the seats series follow the true count. */
  async seatRemoved(tx: Tx, countSeats: (tx: Tx) => Promise<number>): Promise<void> {
    const seats = await countSeats(tx);
    await this.quotas.settleLevel(tx, OWN_METRICS.seats, seats);
    await this.#recordSeats(tx, seats);
  }

  async #recordSeats(tx: Tx, seats: number): Promise<void> {
    await this.recorder.recordIn(tx, [{ metric: OWN_METRICS.seats, quantity: seats, idempotency_key: `seats:${newId()}` }]);
  }
}
