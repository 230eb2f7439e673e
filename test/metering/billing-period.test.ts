// Billing periods: monthly from the anchor's hour, the day clamped to short months.

import { describe, expect, it } from 'vitest';
import { billingPeriod } from '../../src/metering/billing-period.js';

const at = (iso: string) => new Date(iso);

describe('billingPeriod', () => {
  it('starts on the anchor hour of each month', () => {
    expect(billingPeriod(at('2026-01-15T10:42:17Z'), at('2026-03-20T00:00:00Z'))).toEqual({
      start: at('2026-03-15T10:00:00Z'),
      end: at('2026-04-15T10:00:00Z'),
    });
  });

  it('puts the instant of a period start in the new period', () => {
    expect(billingPeriod(at('2026-01-15T10:42:17Z'), at('2026-02-15T10:00:00Z')).start).toEqual(at('2026-02-15T10:00:00Z'));
    expect(billingPeriod(at('2026-01-15T10:42:17Z'), at('2026-02-15T09:59:59.999Z')).start).toEqual(at('2026-01-15T10:00:00Z'));
  });

  it('clamps the 31st to the end of shorter months and returns to the 31st after', () => {
    const anchor = at('2026-01-31T23:30:00Z');
    expect(billingPeriod(anchor, at('2026-03-01T00:00:00Z'))).toEqual({ start: at('2026-02-28T23:00:00Z'), end: at('2026-03-31T23:00:00Z') });
    expect(billingPeriod(anchor, at('2026-04-30T23:30:00Z')).start).toEqual(at('2026-04-30T23:00:00Z'));
  });

  it('crosses years', () => {
    expect(billingPeriod(at('2025-12-05T00:00:00Z'), at('2026-01-01T00:00:00Z'))).toEqual({
      start: at('2025-12-05T00:00:00Z'),
      end: at('2026-01-05T00:00:00Z'),
    });
  });
});
