// Time as a dependency, so token expiry and retention can be tested without waiting.
// Production uses the system clock; tests pass a clock they can move.

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
