// A token bucket's decision and the in-process bucket store. A bucket holds up to
// `capacity` tokens and refills at capacity per minute; each request takes one.

export interface BucketDecision {
  readonly allowed: boolean;
  readonly limit: number;
  /** Whole tokens left after this request. */
  readonly remaining: number;
  /** Seconds until the bucket is full again. */
  readonly resetSeconds: number;
  /** Seconds until one token is available (0 when allowed). */
  readonly retryAfterSeconds: number;
}

export interface BucketStore {
  /** Takes one token from the bucket `key` of `perMinute` capacity. */
  take(key: string, perMinute: number): Promise<BucketDecision>;
}

/** The decision for a bucket holding `tokens` after the take (refill rate: perMinute / 60 s). */
export function decision(allowed: boolean, tokens: number, perMinute: number): BucketDecision {
  const perSecond = perMinute / 60;
  return {
    allowed,
    limit: perMinute,
    remaining: Math.max(0, Math.floor(tokens)),
    resetSeconds: Math.max(0, Math.ceil((perMinute - tokens) / perSecond)),
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - tokens) / perSecond)),
  };
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets kept before idle (full) ones are swept. */
const SWEEP_AT = 10_000;

/** Buckets in this process: exact for one instance, per instance when several run. */
export class LocalBucketStore implements BucketStore {
  readonly #buckets = new Map<string, Bucket>();

  constructor(private readonly nowMs: () => number = () => performance.now()) {}

  async take(key: string, perMinute: number): Promise<BucketDecision> {
    return this.takeNow(key, perMinute);
  }

  takeNow(key: string, perMinute: number): BucketDecision {
    const now = this.nowMs();
    const bucket = this.#buckets.get(key) ?? { tokens: perMinute, at: now };
    bucket.tokens = Math.min(perMinute, bucket.tokens + (Math.max(0, now - bucket.at) * perMinute) / 60_000);
    bucket.at = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    if (!this.#buckets.has(key) && this.#buckets.size >= SWEEP_AT) this.#sweep(now);
    this.#buckets.set(key, bucket);
    return decision(allowed, bucket.tokens, perMinute);
  }

  /** A bucket untouched for a minute is full again: forgetting it changes nothing. */
  #sweep(now: number): void {
    for (const [key, bucket] of this.#buckets) if (now - bucket.at >= 60_000) this.#buckets.delete(key);
  }
}
