// Timestamps in requests name real instants: RFC 3339, a date that exists, a time of day
// without leap seconds, in years JavaScript and PostgreSQL both hold.

import { describe, expect, it } from 'vitest';
import { isInstant } from '../../src/http/instant.js';

describe('isInstant', () => {
  for (const text of [
    '2024-02-29T12:00:00Z',
    '2000-02-29T12:00:00Z',
    '2024-02-29T12:00:00.123456Z',
    '2024-02-29t12:00:00z',
    '2024-02-29 12:00:00+02:00',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
  ]) {
    it(`accepts ${text}`, () => expect(isInstant(text)).toBe(true));
  }

  const impossible: [string, string][] = [
    ['2024-13-01T00:00:00Z', 'month 13'],
    ['2023-02-29T00:00:00Z', '29 February of a common year'],
    ['1900-02-29T00:00:00Z', '29 February of a century that is not a leap year'],
    ['2024-06-31T00:00:00Z', '31 June'],
    ['2024-01-00T00:00:00Z', 'day 0'],
    ['2024-02-30T00:00:00Z', '30 February'],
    ['2024-04-31T00:00:00Z', '31 April'],
    ['2024-01-01T25:00:00Z', 'hour 25'],
    ['2024-01-01T24:00:00Z', 'hour 24'],
    ['2024-01-01T12:60:00Z', 'minute 60'],
    ['2016-12-31T23:59:60Z', 'a leap second, which new Date() cannot read'],
    ['2024-01-01T00:00:00+24:00', 'an offset of 24 hours'],
    ['0000-06-01T00:00:00Z', 'year 0, which timestamptz refuses'],
    ['0001-01-01T00:00:00+01:00', 'an instant in year 0 once in UTC'],
    ['9999-12-31T23:59:59-01:00', 'an instant in year 10000 once in UTC'],
    ['2024-01-01', 'a date without a time'],
    ['2024-01-01T00:00:00', 'no offset'],
    ['2024-01-01T00:00:00Z\u0000', 'a trailing NUL'],
  ];
  for (const [text, why] of impossible) {
    it(`refuses ${text.replace('\u0000', '\\u0000')}: ${why}`, () => expect(isInstant(text)).toBe(false));
  }
});
