// Records usage events for a tenant: checks each event, drops duplicates within
// the batch, and stores the rest with one INSERT ... ON CONFLICT DO NOTHING, so a retried
// batch is never counted twice nor lost halfway.

import type { Clock } from '../clock.js';
import type { Database, Tx } from '../db/database.js';
import { AppError } from '../http/problems.js';
import type { Actor } from '../tenancy/actor.js';
import { billingAnchor, billingAnchorQuery, billingPeriod } from './billing-period.js';
import type { Metric, MetricCatalog } from './metric-catalog.js';
import { checkEvent, quantityMistake, type AcceptedEvent, type EventWindow, type RejectionReason, type UsageEventInput } from './usage-event.js';
import { insertUsageEvents, insertUsageEventsQuery, keysOf, type UsageEventColumns } from './usage-event-repository.js';

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

/** A batch once checked: what to store, and what was refused or repeated within it. */
interface CheckedBatch {
  readonly accepted: Map<string, AcceptedEvent>;
  readonly rejected: RejectedEvent[];
  readonly duplicates: string[];
}

/**
 * How long a tenant's billing anchor is taken from memory. It moves only when billing follows a
 * Stripe subscription's cycle (billing/stripe/subscription-anchor.ts), on any instance; until
 * this instance reads it again, the late-usage window of record() and recordIn() follows the old
 * anchor. Quotas and invoices read the anchor in their own transaction.
 */
export const ANCHOR_MEMORY_MS = 60_000;

export class UsageRecorder {
  /** Each tenant's billing anchor, with when it was read. */
  readonly #anchors = new Map<string, { readonly anchor: Date; readonly readAt: number }>();

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
    const errors: { field: string; message: string }[] = [];
    events.forEach((event, index) => {
      const mistake = quantityMistake(event, metrics.get(event.metric));
      if (mistake) errors.push({ field: `body.events.${index}.quantity`, message: mistake });
    });
    if (errors.length > 0) throw new AppError('validation-failed', errors.map((e) => `${e.field} ${e.message}`).join('; '), { errors });
    // The anchor is known (or read, once per tenant) before the insert, so the insert is the
    // whole unit of work: one statement, sent with its transaction and scoping in one round
    // trip, where a db.tenant() unit costs one for the statements and one more for COMMIT.
    const anchor = this.#remembered(actor.tenantId) ?? this.#remember(actor.tenantId, await this.#readAnchor(actor.tenantId));
    const batch = this.#check(events, metrics, anchor);
    if (batch.accepted.size === 0) return resultOf(batch, new Set());
    const stored = await this.db.tenantStatement((tx) => insertUsageEventsQuery(tx, columnsOf(batch)), { prepared: true });
    return resultOf(batch, keysOf(stored));
  }

  /**
   * Records inside the caller's transaction (scoped to `tenantId`), so usage commits or rolls
   * back with the action.
   */
  async recordIn(tx: Tx, tenantId: string, events: readonly UsageEventInput[]): Promise<RecordResult> {
    const metrics = await this.#metricsOf(events, tx);
    const anchor = this.#remembered(tenantId) ?? this.#remember(tenantId, await billingAnchor(tx, tenantId));
    const batch = this.#check(events, metrics, anchor);
    return resultOf(batch, await insertUsageEvents(tx, columnsOf(batch)));
  }

  /**
   * When an event of a tenant with this billing anchor may have occurred, as of now: from the
   * open billing period's start less the grace window.
   */
  windowFor(anchor: Date): EventWindow {
    const now = this.clock.now();
    return { now, earliest: new Date(billingPeriod(anchor, now).start.getTime() - this.options.graceMs) };
  }

  /** Inside a unit of work `tx` is given, and a stale catalog is read through it. */
  async #metricsOf(events: readonly UsageEventInput[], tx?: Tx): Promise<Map<string, Metric | undefined>> {
    const metrics = new Map<string, Metric | undefined>();
    for (const event of events) {
      if (!metrics.has(event.metric)) metrics.set(event.metric, await this.catalog.find(event.metric, tx));
    }
    return metrics;
  }

  /** Checks each event against its metric and the open period's window; drops keys repeated in the batch. */
  #check(events: readonly UsageEventInput[], metrics: Map<string, Metric | undefined>, anchor: Date): CheckedBatch {
    const window = this.windowFor(anchor);
    const batch: CheckedBatch = { accepted: new Map(), rejected: [], duplicates: [] };
    events.forEach((event, index) => {
      const checked = checkEvent(event, metrics.get(event.metric), window);
      if (typeof checked === 'string') batch.rejected.push({ index, idempotency_key: event.idempotency_key, reason: checked });
      else if (batch.accepted.has(checked.key)) batch.duplicates.push(checked.key);
      else batch.accepted.set(checked.key, checked);
    });
    return batch;
  }

  /** The tenant's anchor, read in a one-statement unit of work of the current tenant. */
  async #readAnchor(tenantId: string): Promise<Date> {
    const [tenant] = await this.db.tenantStatement((tx) => billingAnchorQuery(tx, tenantId), { prepared: true });
    // The access hook found this tenant; only an actor of another tenant than the scope's misses it.
    if (!tenant) throw new Error(`tenant ${tenantId} is not visible in the current tenant scope`);
    return tenant.billing_anchor;
  }

  #remembered(tenantId: string): Date | undefined {
    const entry = this.#anchors.get(tenantId);
    return entry && this.clock.now().getTime() - entry.readAt < ANCHOR_MEMORY_MS ? entry.anchor : undefined;
  }

  #remember(tenantId: string, anchor: Date): Date {
    if (this.#anchors.size > 100_000) this.#anchors.clear();
    this.#anchors.set(tenantId, { anchor, readAt: this.clock.now().getTime() });
    return anchor;
  }
}

/**
 * The batch's accepted events, in order, as one array per column. A column that is null in
 * every row (unique_value unless a unique_count metric is in it, properties when no event has
 * any) is left out, which stores the same NULL (its default).
 */
function columnsOf(batch: CheckedBatch): UsageEventColumns {
  const columns = { idempotency_key: [] as string[], metric: [] as string[], quantity: [] as number[], occurred_at: [] as string[] };
  const uniqueValues: (string | null)[] = [];
  const properties: (string | null)[] = [];
  let anyUniqueValue = false;
  let anyProperties = false;
  for (const event of batch.accepted.values()) {
    columns.idempotency_key.push(event.key);
    columns.metric.push(event.metric);
    columns.quantity.push(event.quantity);
    columns.occurred_at.push(event.occurredAt.toISOString());
    uniqueValues.push(event.uniqueValue);
    properties.push(event.properties);
    anyUniqueValue ||= event.uniqueValue !== null;
    anyProperties ||= event.properties !== null;
  }
  return { ...columns, ...(anyUniqueValue ? { unique_value: uniqueValues } : {}), ...(anyProperties ? { properties } : {}) };
}

/** Keys the insert did not store were stored before: duplicates too. */
function resultOf(batch: CheckedBatch, stored: ReadonlySet<string>): RecordResult {
  for (const key of batch.accepted.keys()) if (!stored.has(key)) batch.duplicates.push(key);
  return { accepted: stored.size, duplicates: batch.duplicates, rejected: batch.rejected };
}
