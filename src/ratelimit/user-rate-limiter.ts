// Per-user rate limits of the routes a user session reaches without a tenant (/v1/me,
// switch-tenant): keyed by the user, not the address, so users behind one NAT do not share.

import type { FastifyReply } from 'fastify';
import { AppError } from '../http/problems.js';
import { sendRateLimitHeaders } from './rate-limit-headers.js';
import type { BucketStore } from './token-bucket.js';

export class UserRateLimiter {
  constructor(
    private readonly buckets: BucketStore,
    private readonly perMinute: number,
  ) {}

  /** Takes a token for the user; sets the RateLimit headers; throws 429 user-rate-limited when none is left. */
  async admit(userId: string, reply: FastifyReply): Promise<void> {
    const verdict = await this.buckets.take(`user:${userId}`, this.perMinute);
    sendRateLimitHeaders(reply, verdict);
    if (!verdict.allowed) {
      throw new AppError(
        'user-rate-limited',
        `each user may make ${this.perMinute} requests per minute to the user routes; retry in ${verdict.retryAfterSeconds} s`,
        { limit: this.perMinute, retry_after: verdict.retryAfterSeconds },
      );
    }
  }
}
