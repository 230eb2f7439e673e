// Time as a dependency, so token expiry and retention can be tested without waiting.
// Production uses the system clock; tests pass a clock they can move.

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
