// Counts each tenant request as API-call usage, and each API key's use, without a database
// write per request: calls are added up in memory per tenant and flushed every second (or
// every N calls) as one usage event per tenant and hour, in one unit of work per tenant that
// also stamps the keys it used. A batch's idempotency key is fixed when it opens, so a retried
// flush never counts twice.

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { touchApiKeys } from '../auth/api-keys/api-key-repository.js';
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
  /** Batches kept per tenant while the database is unreachable; the oldest are dropped past it (and logged). */
  readonly maxBatchesPerTenant?: number;
}

const HOUR_MS = 3_600_000;

/** An API key's last_used_at is written at most this often (per instance; the UPDATE also checks). */
export const KEY_USE_RESOLUTION_MS = 60_000;

/** Keys whose last write this instance remembers; past it the memory starts over (a few extra writes). */
const MAX_TRACKED_KEYS = 100_000;

/**
 * A tenant's calls within one hour. Never spans an hour, so the hourly rollup buckets and the
 * billing periods (which start on the hour) count every call in its own.
 */
interface CallBatch {
  readonly key: string;
  readonly hour: number;
  readonly firstAt: Date;
  calls: number;
  /** Sent at least once: its key may be stored already, so it never takes another call. */
  sealed: boolean;
}

interface TenantCalls {
  plan: string | undefined;
  /** Oldest first; the last one is still filling while this map is the pending one. */
  batches: CallBatch[];
  /** Keys used since the last flush, with when. */
  keys: Map<string, Date>;
}

export class ApiCallMeter {
  /** Keys are `api:<instance>:<n>`: unique without a random number per batch. */
  readonly #instance = randomUUID();
  #sequence = 0;
  #pending = new Map<string, TenantCalls>();
  #count = 0;
  /** When this instance last had each key's use written (ms since epoch). */
  readonly #keyWritten = new Map<string, number>();
  #flushing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #flushAt: number;
  readonly #maxBatches: number;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly recorder: UsageRecorder,
    private readonly quotas: Quotas,
    private readonly logger: Logger,
    private readonly options: ApiCallMeterOptions = {},
  ) {
    this.#flushAt = options.flushAtCalls ?? 1000;
    this.#maxBatches = options.maxBatchesPerTenant ?? 200;
  }

  /** Counts one API call of a tenant. Cheap: no I/O on the request path. */
  record(tenantId: string, plan: string | undefined): void {
    const tenant = this.#tenant(tenantId);
    tenant.plan = plan ?? tenant.plan;
    const now = this.clock.now();
    const hour = Math.floor(now.getTime() / HOUR_MS);
    let batch = tenant.batches.at(-1);
    if (!batch || batch.sealed || batch.hour !== hour) {
      batch = { key: `api:${this.#instance}:${++this.#sequence}`, hour, firstAt: now, calls: 0, sealed: false };
      tenant.batches.push(batch);
    }
    batch.calls += 1;
    this.#count += 1;
    if (this.#count >= this.#flushAt) void this.flush();
    else this.#schedule();
  }

  /**
   * Notes that an API key was used, for its `last_used_at`. Written with the tenant's next
   * flush, at most once a minute per key, and never for a key revoked meanwhile.
   */
  noteKeyUse(tenantId: string, keyId: string): void {
    const now = this.clock.now();
    if (now.getTime() - (this.#keyWritten.get(keyId) ?? 0) < KEY_USE_RESOLUTION_MS) return;
    if (this.#keyWritten.size >= MAX_TRACKED_KEYS) this.#keyWritten.clear();
    this.#keyWritten.set(keyId, now.getTime());
    this.#tenant(tenantId).keys.set(keyId, now);
    this.#schedule();
  }

  /** Writes everything buffered; resolves when it is stored (or re-buffered after a failure). */
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

  #tenant(tenantId: string): TenantCalls {
    let tenant = this.#pending.get(tenantId);
    if (!tenant) this.#pending.set(tenantId, (tenant = { plan: undefined, batches: [], keys: new Map() }));
    return tenant;
  }

  #schedule(): void {
    if (this.#timer) return;
    // Started outside the request's context, so the flush never runs as that request.
    this.#timer = outsideContext(() => setTimeout(() => void this.flush(), this.options.flushIntervalMs ?? 1000));
    this.#timer.unref();
  }

  async #flushNow(): Promise<void> {
    const pending = this.#pending;
    this.#pending = new Map();
    this.#count = 0;
    for (const [tenantId, calls] of pending) {
      for (const batch of calls.batches) batch.sealed = true;
      try {
        await this.#flushTenant(tenantId, calls);
      } catch (error) {
        this.logger.warn({ err: error, tenant_id: tenantId, calls: callsIn(calls) }, 'api call usage not stored; will retry');
        this.#requeue(tenantId, calls);
      }
    }
    if (this.#pending.size > 0) this.#schedule();
  }

  #flushTenant(tenantId: string, calls: TenantCalls): Promise<void> {
    const events: UsageEventInput[] = calls.batches.map((batch) => ({
      metric: OWN_METRICS.apiCalls,
      quantity: batch.calls,
      idempotency_key: batch.key,
      occurred_at: batch.firstAt,
    }));
    return outsideContext(() =>
      enterTenant({ tenantId, requestId: 'api-call-meter' }, () =>
        this.db.tenant(async (tx) => {
          // Shares the tenant row with a concurrent soft delete: a deleted tenant gets no new usage.
          const tenant = await tx.selectFrom('tenants').select('deleted_at').where('id', '=', tenantId).forShare().executeTakeFirst();
          if (!tenant || tenant.deleted_at) return;
          if (calls.keys.size > 0) await touchApiKeys(tx, calls.keys, KEY_USE_RESOLUTION_MS);
          if (events.length === 0) return;
          const result = await this.recorder.recordIn(tx, tenantId, events);
          if (result.rejected.length > 0) {
            this.logger.warn({ tenant_id: tenantId, rejected: result.rejected }, 'api call usage refused by its metric (held past the grace period?)');
          }
          const notStored = new Set([...result.duplicates, ...result.rejected.map((event) => event.idempotency_key)]);
          const counted = events.reduce((sum, event) => (notStored.has(event.idempotency_key) ? sum : sum + (event.quantity ?? 0)), 0);
          if (counted > 0) await this.quotas.count(tx, { tenantId, plan: calls.plan }, OWN_METRICS.apiCalls, counted);
        }),
      ),
    );
  }

  /** Puts a failed flush back in front of what arrived since, batches and keys as they were. */
  #requeue(tenantId: string, failed: TenantCalls): void {
    const current = this.#tenant(tenantId);
    const batches = [...failed.batches, ...current.batches];
    const dropped = batches.splice(0, Math.max(0, batches.length - this.#maxBatches));
    if (dropped.length > 0) {
      this.logger.error({ tenant_id: tenantId, dropped: dropped.reduce((sum, batch) => sum + batch.calls, 0) }, 'api call usage dropped: buffer full');
    }
    for (const [keyId, at] of failed.keys) if (!current.keys.has(keyId)) current.keys.set(keyId, at);
    current.plan ??= failed.plan;
    current.batches = batches;
    this.#count += callsIn(failed) - dropped.reduce((sum, batch) => sum + batch.calls, 0);
  }
}

function callsIn(calls: TenantCalls): number {
  return calls.batches.reduce((sum, batch) => sum + batch.calls, 0);
}
