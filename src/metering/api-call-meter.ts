// Counts each tenant request as an api_calls event without a database write per request:
// calls are buffered in memory and flushed per tenant every second (or every N calls).
// Each call gets its idempotency key when it is buffered, so a retried flush never counts twice.

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Database } from '../db/database.js';
import { outsideContext } from '../tenancy/context.js';
import { enterTenant } from '../tenancy/enter-tenant.js';
import { OWN_METRICS } from './metric-catalog.js';
import type { Quotas } from './quotas.js';
import type { UsageEventInput } from './usage-event.js';
import type { UsageRecorder } from './usage-recorder.js';

export interface ApiCallMeterOptions {
  readonly flushIntervalMs?: number;
  /** Flush early once this many calls are waiting. */
  readonly flushAtCalls?: number;
  /** Calls kept while the database is unreachable; the oldest are dropped past it (and logged). */
  readonly maxBufferedCalls?: number;
}

interface TenantCalls {
  plan: string | undefined;
  events: UsageEventInput[];
}

export class ApiCallMeter {
  /** Keys are `api:<instance>:<n>`: unique without a random number per request. */
  readonly #instance = randomUUID();
  #sequence = 0;
  #pending = new Map<string, TenantCalls>();
  #count = 0;
  #flushing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #flushAt: number;
  readonly #maxBuffered: number;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly recorder: UsageRecorder,
    private readonly quotas: Quotas,
    private readonly logger: Logger,
    private readonly options: ApiCallMeterOptions = {},
  ) {
    this.#flushAt = options.flushAtCalls ?? 1000;
    this.#maxBuffered = options.maxBufferedCalls ?? 200_000;
  }

  /** Counts one API call of a tenant. Cheap: no I/O on the request path. */
  record(tenantId: string, plan: string | undefined): void {
    let calls = this.#pending.get(tenantId);
    if (!calls) this.#pending.set(tenantId, (calls = { plan, events: [] }));
    calls.plan = plan ?? calls.plan;
    calls.events.push({
      metric: OWN_METRICS.apiCalls,
      quantity: 1,
      idempotency_key: `api:${this.#instance}:${++this.#sequence}`,
      occurred_at: this.clock.now(),
    });
    this.#count += 1;
    if (this.#count >= this.#flushAt) void this.flush();
    else this.#schedule();
  }

  /** Writes every buffered call; resolves when they are stored (or re-buffered after a failure). */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const previous = this.#flushing ?? Promise.resolve();
    const next = previous.then(() => this.#flushNow());
    this.#flushing = next.finally(() => {
      if (this.#flushing === next) this.#flushing = undefined;
    });
    return next;
  }

  /** Flushes what is left; called when the app closes. */
  async stop(): Promise<void> {
    await this.flush();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#timer) return;
    // Started outside the request's context, so the flush never runs as that request.
    this.#timer = outsideContext(() => setTimeout(() => void this.flush(), this.options.flushIntervalMs ?? 1000));
    this.#timer.unref();
  }

  async #flushNow(): Promise<void> {
    const batch = this.#pending;
    this.#pending = new Map();
    this.#count = 0;
    for (const [tenantId, calls] of batch) {
      try {
        await this.#flushTenant(tenantId, calls);
      } catch (error) {
        this.logger.warn({ err: error, tenant_id: tenantId, calls: calls.events.length }, 'api call usage not stored; will retry');
        this.#requeue(tenantId, calls);
      }
    }
    if (this.#count > 0) this.#schedule();
  }

  #flushTenant(tenantId: string, calls: TenantCalls): Promise<void> {
    return outsideContext(() =>
      enterTenant({ tenantId, requestId: 'api-call-meter' }, () =>
        this.db.tenant(async (tx) => {
          // Shares the tenant row with a concurrent soft delete: a deleted tenant gets no new usage.
          const tenant = await tx.selectFrom('tenants').select('deleted_at').where('id', '=', tenantId).forShare().executeTakeFirst();
          if (!tenant || tenant.deleted_at) return;
          const result = await this.recorder.recordIn(tx, tenantId, calls.events);
          if (result.accepted > 0) await this.quotas.count(tx, { tenantId, plan: calls.plan }, OWN_METRICS.apiCalls, result.accepted);
        }),
      ),
    );
  }

  #requeue(tenantId: string, calls: TenantCalls): void {
    const current = this.#pending.get(tenantId);
    const events = current ? [...calls.events, ...current.events] : calls.events;
    const dropped = Math.max(0, events.length - this.#maxBuffered);
    if (dropped > 0) this.logger.error({ tenant_id: tenantId, dropped }, 'api call usage dropped: buffer full');
    this.#pending.set(tenantId, { plan: current?.plan ?? calls.plan, events: events.slice(dropped) });
    this.#count += events.length - dropped - (current?.events.length ?? 0);
  }
}
