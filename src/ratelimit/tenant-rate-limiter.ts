// Per-tenant rate limits at the edge: one token bucket per tenant, sized by its plan, shared
// through Redis when configured (see shared-buckets.ts for what happens when Redis fails).

import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { AppError } from '../http/problems.js';
import { sendRateLimitHeaders } from './rate-limit-headers.js';
import { SharedBuckets } from './shared-buckets.js';
import type { BucketStore, LocalBucketStore } from './token-bucket.js';

export interface RateLimitPolicy {
  /** Requests per minute of the plan; null: unlimited. */
  rateLimitFor(planKey: string): Promise<number | null> | number | null;
}

export class TenantRateLimiter {
  /** Also the per-user limiter's buckets: one Redis connection, one fallback state per instance. */
  readonly buckets: SharedBuckets;

  constructor(
    private readonly policy: RateLimitPolicy,
    local: LocalBucketStore,
    shared: BucketStore | undefined,
    logger: Logger,
  ) {
    this.buckets = new SharedBuckets(local, shared, logger);
  }

  /** Takes a token for the tenant; sets the RateLimit headers; throws 429 when none is left. */
  async admit(tenantId: string, planKey: string, reply: FastifyReply): Promise<void> {
    const perMinute = await this.policy.rateLimitFor(planKey);
    if (perMinute === null) return;
    // Tenant buckets are keyed by the bare tenant id, as before user buckets existed, so a
    // rolling upgrade keeps the buckets Redis already holds.
    const verdict = await this.buckets.take(tenantId, perMinute);
    sendRateLimitHeaders(reply, verdict);
    if (!verdict.allowed) {
      throw new AppError('rate-limited', `the plan allows ${perMinute} requests per minute`, {
        limit: perMinute,
        retry_after: verdict.retryAfterSeconds,
      });
    }
  }
}
