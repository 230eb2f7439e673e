// Time as a dependency, so token expiry and retention can be tested without waiting.
// Production uses the system clock; tests pass a clock they can move.

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** The start of the UTC hour `at` falls in (usage is counted and billed by the hour). */
export function startOfHour(at: Date): Date {
  return new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);
}

/** The start of the UTC day `at` falls in (a usage report's daily buckets). */
export function startOfDay(at: Date): Date {
  return new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);
}
