// What domain actions call, inside their own transaction, to be metered: take quota before
// the action (refusing it past a hard limit) and record the usage event with it, so the
// quota, the event and the action commit or roll back together.

import type { Tx } from '../db/database.js';
import { newId } from '../db/ids.js';
import { OWN_METRICS } from './metric-catalog.js';
import type { MeteredTenant, Quotas } from './quotas.js';
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
   *   await db.tenant(async (tx) => { await usage.taskCreated(tx, actor, task.id); await insertTask(tx, task); });
   */
  async taskCreated(tx: Tx, tenant: MeteredTenant, taskId: string): Promise<void> {
    await this.quotas.take(tx, tenant, OWN_METRICS.tasks);
    await this.recorder.recordIn(tx, tenant.tenantId, [{ metric: OWN_METRICS.tasks, quantity: 1, idempotency_key: `task:${taskId}` }]);
  }

  /**
   * An invitation was just written and holds a seat until it is accepted, withdrawn or
   * expires: throws 403 plan-limit-reached when members and open invitations (this one
   * included, as `countHeld` counts them while the seat counter is locked) pass the plan's
   * seat limit.
   */
  async seatOffered(tx: Tx, tenant: MeteredTenant, countHeld: (tx: Tx) => Promise<number>): Promise<void> {
    await this.quotas.holdLevel(tx, tenant, OWN_METRICS.seats, countHeld);
  }

  /**
   * One more seat, before the membership is written: throws 403 plan-limit-reached past the
   * plan's seat limit. `countSeats` counts live members while the seat counter is locked.
   */
  async seatAdded(tx: Tx, tenant: MeteredTenant, countSeats: (tx: Tx) => Promise<number>): Promise<void> {
    const seats = await this.quotas.admitLevel(tx, tenant, OWN_METRICS.seats, countSeats);
    await this.#recordLevel(tx, tenant.tenantId, OWN_METRICS.seats, seats);
  }

  /**
   * Before a member is removed: takes the seat counter's lock first, in the same order as
   * seatAdded, so an add and a removal of the same user cannot deadlock.
   */
  async lockSeats(tx: Tx): Promise<void> {
    await this.quotas.lockLevel(tx, OWN_METRICS.seats);
  }

  /** After a member left: the seat counter and the seats series follow the true count. */
  async seatRemoved(tx: Tx, tenant: MeteredTenant, countSeats: (tx: Tx) => Promise<number>): Promise<void> {
    await this.#settle(tx, tenant.tenantId, OWN_METRICS.seats, await countSeats(tx));
  }

  /**
   * One more agent key, before it is written: throws 403 plan-limit-reached past the plan's
   * `agents` limit. `countAgents` counts live agent keys while the agents counter is locked.
   */
  async agentAdded(tx: Tx, tenant: MeteredTenant, countAgents: (tx: Tx) => Promise<number>): Promise<void> {
    const agents = await this.quotas.admitLevel(tx, tenant, OWN_METRICS.agents, countAgents);
    await this.#recordLevel(tx, tenant.tenantId, OWN_METRICS.agents, agents);
  }

  /** Before keys are revoked: the agents counter's lock first, in agentAdded's order. */
  async lockAgents(tx: Tx): Promise<void> {
    await this.quotas.lockLevel(tx, OWN_METRICS.agents);
  }

  /** After agent keys were revoked: the agents counter and series follow the true count. */
  async agentsRemoved(tx: Tx, tenant: MeteredTenant, countAgents: (tx: Tx) => Promise<number>): Promise<void> {
    await this.#settle(tx, tenant.tenantId, OWN_METRICS.agents, await countAgents(tx));
  }

  async #settle(tx: Tx, tenantId: string, metric: string, level: number): Promise<void> {
    await this.quotas.settleLevel(tx, metric, level);
    await this.#recordLevel(tx, tenantId, metric, level);
  }

  async #recordLevel(tx: Tx, tenantId: string, metric: string, level: number): Promise<void> {
    await this.recorder.recordIn(tx, tenantId, [{ metric, quantity: level, idempotency_key: `${metric}:${newId()}` }]);
  }
}
