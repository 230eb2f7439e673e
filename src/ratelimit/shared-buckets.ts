// Token buckets shared through Redis when configured; if Redis fails, this instance's own
// buckets take over (and it is logged), so a Redis outage neither lifts limits nor refuses everyone.

import type { Logger } from 'pino';
import type { BucketDecision, BucketStore, LocalBucketStore } from './token-bucket.js';

/** A failing Redis is logged at most this often. */
const LOG_EVERY_MS = 10_000;
/**
 * After Redis fails, this instance's buckets serve alone for this long before Redis is tried
 * again: a stalled Redis costs one request a command timeout now and then, not every request.
 */
const SHARED_RETRY_AFTER_MS = 5_000;

export class SharedBuckets implements BucketStore {
  #lastLogged = 0;
  #sharedFailedAt = -Infinity;

  constructor(
    private readonly local: LocalBucketStore,
    private readonly shared: BucketStore | undefined,
    private readonly logger: Logger,
  ) {}

  async take(key: string, perMinute: number): Promise<BucketDecision> {
    if (!this.shared || performance.now() - this.#sharedFailedAt < SHARED_RETRY_AFTER_MS) return this.local.takeNow(key, perMinute);
    try {
      return await this.shared.take(key, perMinute);
    } catch (error) {
      this.#sharedFailedAt = performance.now();
      const now = Date.now();
      if (now - this.#lastLogged >= LOG_EVERY_MS) {
        this.#lastLogged = now;
        this.logger.error({ err: error }, 'shared rate limits unavailable; using this instance\'s buckets');
      }
      return this.local.takeNow(key, perMinute);
    }
  }
}
