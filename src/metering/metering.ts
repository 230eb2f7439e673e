// Wires metering for one app instance: the catalog, the recorder, quotas, the usage
// reader, API-call counting and per-tenant rate limits, and what must close at shutdown.

import type { FastifyReply } from 'fastify';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Database } from '../db/database.js';
import type { Actor } from '../tenancy/actor.js';
import { RedisBucketStore } from '../ratelimit/redis-bucket-store.js';
import { TenantRateLimiter } from '../ratelimit/tenant-rate-limiter.js';
import { LocalBucketStore } from '../ratelimit/token-bucket.js';
import { ActionUsage } from './action-usage.js';
import { ApiCallMeter } from './api-call-meter.js';
import { MetricCatalog } from './metric-catalog.js';
import type { PlanLimits } from './plan-limits.js';
import { Quotas, type UsageWarningListener } from './quotas.js';
import { UsageReader } from './usage-report.js';
import { UsageRecorder } from './usage-recorder.js';

export interface MeteringSettings {
  readonly usageGraceHours: number;
  readonly redisUrl: string | undefined;
  readonly redisKeyPrefix: string;
  readonly rateLimits: boolean;
}

export interface MeteringInputs {
  readonly db: Database;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly plans: PlanLimits;
  readonly settings: MeteringSettings;
  /** Told of each usage warning in its transaction (outbound webhooks announce them). */
  readonly usageWarnings?: UsageWarningListener | undefined;
}

export class Metering {
  readonly catalog: MetricCatalog;
  readonly recorder: UsageRecorder;
  readonly quotas: Quotas;
  readonly reader: UsageReader;
  readonly apiCalls: ApiCallMeter;
  /** Quotas and usage of domain actions (tasks created, seats). */
  readonly actions: ActionUsage;
  readonly rateLimiter: TenantRateLimiter;
  readonly #redis: Redis | undefined;
  readonly #rateLimits: boolean;

  constructor({ db, clock, logger, plans, settings, usageWarnings }: MeteringInputs) {
    this.catalog = new MetricCatalog(db);
    this.recorder = new UsageRecorder(db, clock, this.catalog, { graceMs: settings.usageGraceHours * 3_600_000 });
    this.quotas = new Quotas(this.catalog, plans, clock, logger, usageWarnings);
    this.reader = new UsageReader(db, clock, this.catalog, plans);
    this.actions = new ActionUsage(this.quotas, this.recorder);
    this.apiCalls = new ApiCallMeter(db, clock, this.recorder, this.quotas, plans, logger);
    this.#rateLimits = settings.rateLimits;
    if (settings.redisUrl && settings.rateLimits) {
      // Fail fast rather than queue: a request waiting on a dead Redis falls back instead.
      this.#redis = new Redis(settings.redisUrl, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: 250,
        lazyConnect: false,
      });
      this.#redis.on('error', (error) => logger.debug({ err: error }, 'rate-limit redis connection error'));
    }
    this.rateLimiter = new TenantRateLimiter(
      plans,
      new LocalBucketStore(),
      this.#redis && new RedisBucketStore(this.#redis, settings.redisKeyPrefix),
      logger,
    );
  }

  /**
   * Runs for every tenant request once its tenant is known: notes an API key's use (a
   * throttled call used its key too), takes a rate-limit token (429 when none is left) and
   * counts the call.
   */
  async admitTenantRequest(actor: Actor, reply: FastifyReply): Promise<void> {
    // A suspended tenant is read-only in the database, usage records and key stamps included:
    // its calls (reads and refused writes) are not counted, so nothing is buffered that cannot be stored.
    const writable = actor.tenantStatus !== 'suspended';
    if (writable && actor.kind === 'api_key') this.apiCalls.noteKeyUse(actor.tenantId, actor.apiKeyId);
    if (this.#rateLimits) await this.rateLimiter.admit(actor.tenantId, actor.plan, reply);
    if (writable) this.apiCalls.record(actor.tenantId, actor.plan);
  }

  async close(): Promise<void> {
    await this.apiCalls.stop();
    this.#redis?.disconnect();
  }
}
