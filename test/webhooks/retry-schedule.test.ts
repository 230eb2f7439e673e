// The wait between attempts: exponential, capped, with jitter between half and all of it; and
// no attempt is planned past the delivery's retry window.

import { describe, expect, it } from 'vitest';
import { nextAttemptAt, retryDelayMs } from '../../src/webhooks/retry-schedule.js';

const settings = { retryBaseMs: 10_000, retryMaxMs: 3_600_000 };

describe('the retry schedule', () => {
  it('doubles the ceiling after each failure and keeps every wait between half and all of it', () => {
    for (let failed = 1; failed <= 12; failed += 1) {
      const ceiling = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** (failed - 1));
      expect(retryDelayMs(failed, settings, () => 0)).toBe(ceiling / 2);
      expect(retryDelayMs(failed, settings, () => 0.999999)).toBeCloseTo(ceiling, -1);
      const sampled = retryDelayMs(failed, settings);
      expect(sampled).toBeGreaterThanOrEqual(ceiling / 2);
      expect(sampled).toBeLessThanOrEqual(ceiling);
    }
  });

  it('spreads the retries of deliveries that failed together', () => {
    const waits = new Set(Array.from({ length: 50 }, () => retryDelayMs(3, settings)));
    expect(waits.size).toBeGreaterThan(40);
  });

  it('caps the wait however many attempts failed', () => {
    expect(retryDelayMs(500, settings, () => 0.999999)).toBeLessThanOrEqual(settings.retryMaxMs);
  });

  it('plans no attempt past the retry window', () => {
    const now = new Date('2026-12-03T00:00:00Z');
    expect(nextAttemptAt(1, now, new Date(now.getTime() + 60_000), settings)).toBeInstanceOf(Date);
    expect(nextAttemptAt(1, now, new Date(now.getTime() + 4_000), settings)).toBeUndefined();
  });
});
