// Counts each tenant request as API-call usage, and each API key's use, without a database
// write per request: calls are added up in memory per tenant and flushed every second (or
// every N calls).
//
// One flush is one transaction for all the tenants without an API-call limit (the service
// role, recorded once an hour as recurring work): it adds their calls straight into their
// hourly rollups and stamps the keys they used (api-call-store.ts). With traffic
// spread over thousands of tenants, a transaction per tenant would cost about one per request,
// and a usage event per tenant about one row per request. Each such unit has an id, stored in
// its transaction: a unit that failed is sent again exactly as it was, so a commit whose
// answer was lost is never added twice, and calls made since go into units of their own.
//
// A tenant whose plan limits API calls keeps a unit of work of its own, as its quota counter
// and warnings are written in the tenant's scope: its calls are usage events there, one per
// flush and hour, whose idempotency key is fixed when the batch opens.

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { touchApiKeys, touchApiKeysAcross } from '../auth/api-keys/api-key-repository.js';
import { HOUR_MS, type Clock } from '../clock.js';
import type { Database } from '../db/database.js';
import { outsideContext } from '../tenancy/context.js';
import { enterTenant } from '../tenancy/enter-tenant.js';
import { addCallsToRollups, claimFlush, FLUSH_ID_RETENTION_MS, lockLiveTenants, pruneFlushes, type TenantHourCalls } from './api-call-store.js';
import { OWN_METRICS } from './metric-catalog.js';
import type { PlanLimits } from './plan-limits.js';
import type { Quotas } from './quotas.js';
import type { UsageEventInput } from './usage-event.js';
import type { UsageRecorder } from './usage-recorder.js';

export interface ApiCallMeterOptions {
  readonly flushIntervalMs?: number;
  /** Flush early once this many calls are waiting. */
  readonly flushAtCalls?: number;
  /**
   * Failed flushes kept while the database is unreachable: shared units, and batches per
   * limited tenant. Past it the oldest are dropped (and logged).
   */
  readonly maxUnsentFlushes?: number;
  /** Tenants written by one shared transaction; more are split over several. */
  readonly tenantsPerTransaction?: number;
}

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

/** One shared transaction's content, kept as it was first sent: its id stands for exactly these calls. */
interface SharedUnit {
  readonly id: string;
  readonly tenants: ReadonlyMap<string, TenantCalls>;
  /** When it was first sent (ms since epoch): past a quarter of the id's retention it is dropped, not sent. */
  readonly since: number;
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
  /** Shared units that failed, oldest first: each is sent again as it was. */
  #unsent: SharedUnit[] = [];
  /** The hour this instance last pruned old flush ids in. */
  #prunedHour: number | undefined;
  #flushing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #flushAt: number;
  readonly #maxUnsent: number;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly recorder: UsageRecorder,
    private readonly quotas: Quotas,
    private readonly limits: PlanLimits,
    private readonly logger: Logger,
    private readonly options: ApiCallMeterOptions = {},
  ) {
    this.#flushAt = options.flushAtCalls ?? 1000;
    this.#maxUnsent = options.maxUnsentFlushes ?? 200;
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

  /** Writes everything buffered; resolves when it is stored (or kept to send again after a failure). */
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
    const shared: [string, TenantCalls][] = [];
    const own: [string, TenantCalls][] = [];
    for (const entry of pending) {
      for (const batch of entry[1].batches) batch.sealed = true;
      ((await this.#countsAgainstALimit(entry[1])) ? own : shared).push(entry);
    }
    const units = this.#unsent;
    this.#unsent = [];
    const perTransaction = this.options.tenantsPerTransaction ?? 2_000;
    for (let start = 0; start < shared.length; start += perTransaction) {
      units.push({ id: randomUUID(), tenants: new Map(shared.slice(start, start + perTransaction)), since: this.clock.now().getTime() });
    }
    for (const [index, unit] of units.entries()) {
      try {
        await this.#flushShared(unit);
      } catch (error) {
        // The rest wait too: the database is likely unreachable, and each unit would wait for it.
        this.#unsent = units.slice(index);
        this.logger.warn({ err: error, flushes: this.#unsent.length }, 'api call usage not stored; will retry');
        this.#trimUnsent();
        break;
      }
    }
    for (const [tenantId, calls] of own) {
      try {
        await this.#flushTenant(tenantId, calls);
      } catch (error) {
        this.logger.warn({ err: error, tenant_id: tenantId, calls: callsIn(calls) }, 'api call usage not stored; will retry');
        this.#requeue(tenantId, calls);
      }
    }
    if (this.#pending.size > 0 || this.#unsent.length > 0) this.#schedule();
  }

  /** A plan that limits API calls has a quota counter to keep, which is written in the tenant's scope. */
  async #countsAgainstALimit(calls: TenantCalls): Promise<boolean> {
    if (calls.batches.length === 0) return false;
    if (calls.plan === undefined) return true;
    return (await this.limits.limitFor(calls.plan, OWN_METRICS.apiCalls)) !== null;
  }

  /**
   * A shared unit's calls and key uses, in one service-role transaction; nothing if its id is
   * stored already (sent before, the answer lost). Calls older than a tenant's open billing
   * period allows (its start minus the grace window: a unit kept through a long outage) are
   * dropped and logged, as an event that old would be refused.
   */
  #flushShared(unit: SharedUnit): Promise<void> {
    const hour = Math.floor(this.clock.now().getTime() / HOUR_MS);
    return outsideContext(() =>
      this.db.service(
        'api-call meter flush',
        async (tx) => {
          if (!(await claimFlush(tx, unit.id))) return;
          const live = await lockLiveTenants(tx, [...unit.tenants.keys()]);
          const keys: { tenantId: string; keyId: string; at: Date }[] = [];
          const calls: TenantHourCalls[] = [];
          for (const { id, billing_anchor } of live) {
            const tenant = unit.tenants.get(id)!;
            for (const [keyId, at] of tenant.keys) keys.push({ tenantId: id, keyId, at });
            const { earliest } = this.recorder.windowFor(billing_anchor);
            for (const batch of tenant.batches) {
              if (batch.firstAt >= earliest) calls.push({ tenantId: id, at: batch.firstAt, calls: batch.calls });
              else this.logger.warn({ tenant_id: id, calls: batch.calls, since: batch.firstAt }, 'api call usage dropped: older than the open billing period allows');
            }
          }
          await touchApiKeysAcross(tx, keys, KEY_USE_RESOLUTION_MS);
          await addCallsToRollups(tx, calls);
          if (this.#prunedHour !== hour) {
            await pruneFlushes(tx);
            this.#prunedHour = hour;
          }
        },
        { recurring: true },
      ),
    );
  }

  /** Drops the unsent units past the bound, and those older than their id is safe for. */
  #trimUnsent(): void {
    const tooOld = this.clock.now().getTime() - FLUSH_ID_RETENTION_MS / 4;
    const excess = this.#unsent.length - this.#maxUnsent;
    const kept: SharedUnit[] = [];
    let calls = 0;
    this.#unsent.forEach((unit, index) => {
      if (unit.since >= tooOld && index >= excess) kept.push(unit);
      else for (const tenant of unit.tenants.values()) calls += callsIn(tenant);
    });
    if (kept.length === this.#unsent.length) return;
    this.logger.error({ flushes: this.#unsent.length - kept.length, calls }, 'api call usage dropped: kept unsent too long or too many');
    this.#unsent = kept;
  }

  #flushTenant(tenantId: string, calls: TenantCalls): Promise<void> {
    const events = eventsOf(calls);
    return outsideContext(() =>
      enterTenant({ tenantId, requestId: 'api-call-meter' }, () =>
        this.db.tenant(async (tx) => {
          if ((await lockLiveTenants(tx, [tenantId])).length === 0) return;
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

  /** Puts a limited tenant's failed flush back in front of what arrived since, batches and keys as they were. */
  #requeue(tenantId: string, failed: TenantCalls): void {
    const current = this.#tenant(tenantId);
    const batches = [...failed.batches, ...current.batches];
    const dropped = batches.splice(0, Math.max(0, batches.length - this.#maxUnsent));
    if (dropped.length > 0) {
      this.logger.error({ tenant_id: tenantId, dropped: dropped.reduce((sum, batch) => sum + batch.calls, 0) }, 'api call usage dropped: buffer full');
    }
    for (const [keyId, at] of failed.keys) if (!current.keys.has(keyId)) current.keys.set(keyId, at);
    current.plan ??= failed.plan;
    current.batches = batches;
    this.#count += callsIn(failed) - dropped.reduce((sum, batch) => sum + batch.calls, 0);
  }
}

function eventsOf(calls: TenantCalls): UsageEventInput[] {
  return calls.batches.map((batch) => ({
    metric: OWN_METRICS.apiCalls,
    quantity: batch.calls,
    idempotency_key: batch.key,
    occurred_at: batch.firstAt,
  }));
}

function callsIn(calls: TenantCalls): number {
  return calls.batches.reduce((sum, batch) => sum + batch.calls, 0);
}
