// Rate-limit buckets refill with real time (in process by the monotonic clock, shared ones by
// Redis's): a test cannot stop that, only measure it. A bucket of `perMinute` starts full and
// gains a token every 60/perMinute seconds, so how many requests it may admit depends on how
// long they took; a busy machine gets the larger allowance it has earned, not a failure.

/** Measures from now; `admittedAtMost(perMinute)` is the most a full bucket can have let through since. */
export function bucketWindow(): { admittedAtMost(perMinute: number): number } {
  const started = performance.now();
  return {
    admittedAtMost: (perMinute) => perMinute + Math.floor(((performance.now() - started) * perMinute) / 60_000),
  };
}
