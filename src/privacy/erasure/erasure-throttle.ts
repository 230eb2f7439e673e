// Erasing oneself is destructive, slow (it rewrites rows in every tenant the person is in)
// and checks a password: a few attempts a minute per user, on the rate limiter's buckets
// (shared through Redis when configured), counted before the password is checked.

import type { FastifyReply } from 'fastify';
import { AppError } from '../../http/problems.js';
import { sendRateLimitHeaders } from '../../ratelimit/rate-limit-headers.js';
import type { BucketStore } from '../../ratelimit/token-bucket.js';

/** Attempts a minute per user (a burst of this many, then a trickle). */
export const ERASURE_ATTEMPTS_PER_MINUTE = 3;

export class ErasureThrottle {
  constructor(
    private readonly buckets: BucketStore,
    private readonly enabled: boolean,
  ) {}

  /** Takes one attempt for the user; 429 erasure-throttled with Retry-After when none is left. */
  async admit(userId: string, reply: FastifyReply): Promise<void> {
    if (!this.enabled) return;
    const verdict = await this.buckets.take(`erase:${userId}`, ERASURE_ATTEMPTS_PER_MINUTE);
    sendRateLimitHeaders(reply, verdict);
    if (!verdict.allowed) {
      throw new AppError('erasure-throttled', `at most ${ERASURE_ATTEMPTS_PER_MINUTE} erasure attempts a minute per user; retry in ${verdict.retryAfterSeconds} s`, {
        limit: ERASURE_ATTEMPTS_PER_MINUTE,
        retry_after: verdict.retryAfterSeconds,
      });
    }
  }
}
