// How our pools read timestamptz. node-postgres parses every timestamp with a general
// regular-expression parser (postgres-date); a list of 50 tasks has 100 of them, and parsing
// them was ~3 % of a request's CPU. PostgreSQL prints a UTC timestamp in one fixed layout,
// '2026-12-03 10:27:18.123456+00', which is read here digit by digit; anything else (another
// session time zone, a year outside 1000-9999, BC, infinity) goes to the general parser.
//
// Most of what is read goes straight back out as JSON, and V8's Date#toISOString cost more
// than the parse (about 0.5 µs each, ~5 % of a task list's CPU): a UTC timestamp read here
// is a StoredInstant, which writes its ISO form from the text PostgreSQL sent. It also keeps
// the microseconds a Date drops, which is where a keyset page's position comes from
// (db/keyset-page.ts): an instant read in another time zone is a StoredInstant for that reason.

import pg from 'pg';

const TIMESTAMPTZ_OID = 1184;
const generalParser = pg.types.getTypeParser(TIMESTAMPTZ_OID, 'text') as (text: string) => Date | string;

const ZERO = 48;
const DASH = 45;
const SPACE = 32;
const COLON = 58;
const DOT = 46;
const PLUS = 43;

/** The number written by the digits of text[from, to), or NaN if any is not a digit. */
function digits(text: string, from: number, to: number): number {
  let value = 0;
  for (let index = from; index < to; index++) {
    const digit = text.charCodeAt(index) - ZERO;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return value;
}

/** The fraction digits of a printed timestamptz ('…:18.1234+01' → '1234'; none → ''). */
const FRACTION = /:\d\d(?:\.(\d{1,6}))?[+-]\d\d(?::\d\d){0,2}$/;

/**
 * A Date read from PostgreSQL that keeps the text it was read from. In UTC its ISO form (and
 * so its JSON) is that text rearranged, not formatted again; in any zone the text gives its
 * microseconds. Everything else is Date's own; a date that was changed since (setTime,
 * setMonth, …) formats as any Date does and has no microseconds to give.
 */
export class StoredInstant extends Date {
  readonly #time: number;
  readonly #text: string;
  /** The text is in the fast path's UTC layout ('2026-12-03 10:27:18.123456+00'). */
  readonly #utc: boolean;

  constructor(time: number, text: string, utc = true) {
    super(time);
    this.#time = time;
    this.#text = text;
    this.#utc = utc;
  }

  override toISOString(): string {
    if (!this.#utc || this.getTime() !== this.#time) return super.toISOString();
    return this.#rearranged(3);
  }

  /**
   * The instant as UTC text with all six fraction digits ('2026-12-03T10:27:18.123456Z'), as
   * PostgreSQL stored it; undefined once the date was changed, or for a year outside 0-9999.
   */
  toMicrosecondISOString(): string | undefined {
    if (this.getTime() !== this.#time) return undefined;
    if (this.#utc) return this.#rearranged(6);
    // Another zone: Date's own UTC form to the millisecond, then the text's last three digits
    // (an offset is whole seconds, so it never changes the fraction). A BC year, whose text
    // ends in ' BC', does not match.
    const iso = super.toISOString();
    const fraction = FRACTION.exec(this.#text);
    if (iso.length !== 24 || !fraction) return undefined;
    return `${iso.slice(0, 23)}${(fraction[1] ?? '').padEnd(6, '0').slice(3)}Z`;
  }

  /** The UTC text in ISO form with `digits` fraction digits: '2026-12-03 10:27:18.1234+00' → '2026-12-03T10:27:18.123Z' (3). */
  #rearranged(digits: 3 | 6): string {
    const text = this.#text;
    const fraction = text.length > 22 ? text.slice(20, text.length - 3) : '';
    return `${text.slice(0, 10)}T${text.slice(11, 19)}.${fraction.padEnd(6, '0').slice(0, digits)}Z`;
  }
}

/**
 * The UTC text of a timestamptz to the microsecond, when it was read by our pools (poolTypes)
 * and not changed since; undefined for anything else, a plain Date included.
 */
export function microsecondISOString(value: unknown): string | undefined {
  return value instanceof StoredInstant ? value.toMicrosecondISOString() : undefined;
}

/** What the general parser makes of a text, keeping the text when that is a Date. */
function generallyParsed(text: string): Date | string {
  const parsed = generalParser(text);
  return parsed instanceof Date && !Number.isNaN(parsed.getTime()) ? new StoredInstant(parsed.getTime(), text, false) : parsed;
}

/**
 * A timestamptz as node-postgres would parse it (a Date, sub-millisecond digits dropped), read
 * without a regular expression when it is in UTC.
 */
export function parseTimestamptz(text: string): Date | string {
  const length = text.length;
  // 'YYYY-MM-DD HH:MM:SS' then an optional fraction, then '+00'.
  const utc =
    length >= 22 &&
    text.charCodeAt(4) === DASH &&
    text.charCodeAt(7) === DASH &&
    text.charCodeAt(10) === SPACE &&
    text.charCodeAt(13) === COLON &&
    text.charCodeAt(16) === COLON &&
    text.charCodeAt(length - 3) === PLUS &&
    text.charCodeAt(length - 2) === ZERO &&
    text.charCodeAt(length - 1) === ZERO &&
    (length === 22 || (text.charCodeAt(19) === DOT && length >= 24 && length <= 29));
  if (!utc) return generallyParsed(text);
  const year = digits(text, 0, 4);
  let milliseconds = 0;
  if (length > 22) {
    // One to six fraction digits: the first three are the milliseconds.
    const fraction = Math.min(length - 3, 23);
    milliseconds = digits(text, 20, fraction) * 10 ** (23 - fraction);
    if (Number.isNaN(digits(text, fraction, length - 3))) return generallyParsed(text);
  }
  const time = Date.UTC(
    year,
    digits(text, 5, 7) - 1,
    digits(text, 8, 10),
    digits(text, 11, 13),
    digits(text, 14, 16),
    digits(text, 17, 19),
    milliseconds,
  );
  // NaN (a stray character); Date.UTC reads years below 100 as 19xx, so those go the long way.
  if (Number.isNaN(time) || year < 1000) return generallyParsed(text);
  return new StoredInstant(time, text);
}

/** The type parsers our pools use: node-postgres's own, but timestamptz read as above. */
export const poolTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === TIMESTAMPTZ_OID && format !== 'binary' ? parseTimestamptz : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};
