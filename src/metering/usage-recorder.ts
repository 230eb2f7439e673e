// Records usage events for a tenant: checks each event, drops duplicates within
// the batch, and stores the rest with one INSERT ... ON CONFLICT DO NOTHING, so a retried
// batch is never counted twice nor lost halfway.

import type { Clock } from '../clock.js';
import type { Database, Tx } from '../db/database.js';
import { AppError } from '../http/problems.js';
import type { Actor } from '../tenancy/actor.js';
import { billingAnchor, billingPeriod } from './billing-period.js';
import type { Metric, MetricCatalog } from './metric-catalog.js';
import { checkEvent, quantityMistake, type AcceptedEvent, type RejectionReason, type UsageEventInput } from './usage-event.js';
import { insertUsageEvents } from './usage-event-repository.js';

export interface RejectedEvent {
  readonly index: number;
  readonly idempotency_key: string;
  readonly reason: RejectionReason;
}

export interface RecordResult {
  /** Events stored now. */
  readonly accepted: number;
  /** Keys already stored (by an earlier batch or earlier in this one): ignored. */
  readonly duplicates: string[];
  readonly rejected: RejectedEvent[];
}

export interface UsageRecorderOptions {
  /** How far before the open billing period's start an event may have occurred. */
  readonly graceMs: number;
}

export class UsageRecorder {
  /** Billing anchors never change (until billing exists), so each tenant's is read once. */
  readonly #anchors = new Map<string, Date>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly catalog: MetricCatalog,
    private readonly options: UsageRecorderOptions,
  ) {}

  /**
   * Records a batch in a transaction of its own.
   *
   * @example
   *   await recorder.record(actor, [{ metric: 'api_calls', quantity: 1, idempotency_key: 'req-42' }]);
   */
  async record(actor: Actor, events: readonly UsageEventInput[]): Promise<RecordResult> {
    // Before the unit of work: a stale catalog is reloaded without holding its connection.
    const metrics = await this.#metricsOf(events);
    const errors = events.flatMap((event, index) => {
      const mistake = quantityMistake(event, metrics.get(event.metric));
      return mistake ? [{ field: `body.events.${index}.quantity`, message: mistake }] : [];
    });
    if (errors.length > 0) throw new AppError('validation-failed', errors.map((e) => `${e.field} ${e.message}`).join('; '), { errors });
    return this.db.tenant((tx) => this.#recordIn(tx, actor.tenantId, events, metrics));
  }

  /**
   * Records inside the caller's transaction (scoped to `tenantId`), so usage commits or rolls
   * back with the action.
   */
  async recordIn(tx: Tx, tenantId: string, events: readonly UsageEventInput[]): Promise<RecordResult> {
    return this.#recordIn(tx, tenantId, events, await this.#metricsOf(events, tx));
  }

  /** Inside a unit of work `tx` is given, and a stale catalog is read through it. */
  async #metricsOf(events: readonly UsageEventInput[], tx?: Tx): Promise<Map<string, Metric | undefined>> {
    const metrics = new Map<string, Metric | undefined>();
    for (const event of events) {
      if (!metrics.has(event.metric)) metrics.set(event.metric, await this.catalog.find(event.metric, tx));
    }
    return metrics;
  }

  async #recordIn(
    tx: Tx,
    tenantId: string,
    events: readonly UsageEventInput[],
    metrics: Map<string, Metric | undefined>,
  ): Promise<RecordResult> {
    const now = this.clock.now();
    const period = billingPeriod(await this.#anchor(tx, tenantId), now);
    const window = { now, earliest: new Date(period.start.getTime() - this.options.graceMs) };
    const rejected: RejectedEvent[] = [];
    const duplicates: string[] = [];
    const batch = new Map<string, AcceptedEvent>();
    events.forEach((event, index) => {
      const checked = checkEvent(event, metrics.get(event.metric), window);
      if (typeof checked === 'string') rejected.push({ index, idempotency_key: event.idempotency_key, reason: checked });
      else if (batch.has(checked.key)) duplicates.push(checked.key);
      else batch.set(checked.key, checked);
    });
    const stored = await insertUsageEvents(
      tx,
      [...batch.values()].map((event) => ({
        idempotency_key: event.key,
        metric: event.metric,
        quantity: event.quantity,
        occurred_at: event.occurredAt,
        unique_value: event.uniqueValue,
        properties: event.properties,
      })),
    );
    for (const key of batch.keys()) if (!stored.has(key)) duplicates.push(key);
    return { accepted: stored.size, duplicates, rejected };
  }

  async #anchor(tx: Tx, tenantId: string): Promise<Date> {
    let anchor = this.#anchors.get(tenantId);
    if (!anchor) {
      anchor = await billingAnchor(tx, tenantId);
      if (this.#anchors.size > 100_000) this.#anchors.clear();
      this.#anchors.set(tenantId, anchor);
    }
    return anchor;
  }
}
