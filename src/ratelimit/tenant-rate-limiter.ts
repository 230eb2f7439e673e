// Per-tenant rate limits at the edge: one token bucket per tenant, sized by its plan. Shared
// through Redis when configured; if Redis fails, this instance's own buckets take over (and
// it is logged), so a Redis outage neither lifts the limits nor refuses every request.

import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { AppError } from '../http/problems.js';
import type { BucketDecision, BucketStore, LocalBucketStore } from './token-bucket.js';

export interface RateLimitPolicy {
  /** Requests per minute of the plan; null: unlimited. */
  rateLimitFor(planKey: string): Promise<number | null> | number | null;
}

/** A failing Redis is logged at most this often. */
const LOG_EVERY_MS = 10_000;
/**
 * After Redis fails, this instance's buckets serve alone for this long before Redis is tried
 * again: a stalled Redis costs one request a command timeout now and then, not every request.
 */
const SHARED_RETRY_AFTER_MS = 5_000;

export class TenantRateLimiter {
  #lastLogged = 0;
  #sharedFailedAt = -Infinity;

  constructor(
    private readonly policy: RateLimitPolicy,
    private readonly local: LocalBucketStore,
    private readonly shared: BucketStore | undefined,
    private readonly logger: Logger,
  ) {}

  /** Takes a token for the tenant; sets the RateLimit headers; throws 429 when none is left. */
  async admit(tenantId: string, planKey: string, reply: FastifyReply): Promise<void> {
    const perMinute = await this.policy.rateLimitFor(planKey);
    if (perMinute === null) return;
    const verdict = await this.#take(tenantId, perMinute);
    reply.header('RateLimit-Limit', verdict.limit);
    reply.header('RateLimit-Remaining', verdict.remaining);
    reply.header('RateLimit-Reset', verdict.resetSeconds);
    if (!verdict.allowed) {
      reply.header('Retry-After', verdict.retryAfterSeconds);
      throw new AppError('rate-limited', `the plan allows ${perMinute} requests per minute`, {
        limit: perMinute,
        retry_after: verdict.retryAfterSeconds,
      });
    }
  }

  async #take(tenantId: string, perMinute: number): Promise<BucketDecision> {
    if (!this.shared || performance.now() - this.#sharedFailedAt < SHARED_RETRY_AFTER_MS) return this.local.takeNow(tenantId, perMinute);
    try {
      return await this.shared.take(tenantId, perMinute);
    } catch (error) {
      this.#sharedFailedAt = performance.now();
      const now = Date.now();
      if (now - this.#lastLogged >= LOG_EVERY_MS) {
        this.#lastLogged = now;
        this.logger.error({ err: error }, 'shared rate limits unavailable; using this instance\'s buckets');
      }
      return this.local.takeNow(tenantId, perMinute);
    }
  }
}

