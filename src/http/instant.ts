// Timestamps a request may carry: RFC 3339 text naming a real instant (no 30 February, no
// hour 25, no leap second) between the years 1 and 9999, which Date and timestamptz both hold.
// Checked field by field, without building a Date: a batch of 1,000 usage events carries
// 1,000 of them.

const RFC_3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

export function isInstant(text: string): boolean {
  const match = RFC_3339.exec(text);
  if (!match) return false;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return false;
  if (Number(match[4]) > 23 || Number(match[5]) > 59 || Number(match[6]) > 59) return false;
  if (Number(match[7] ?? 0) > 23 || Number(match[8] ?? 0) > 59) return false;
  if (year > 1 && year < 9999) return true;
  // At either end of the range the offset decides the year in UTC; the driver cannot write
  // year 0 or below, and handlers read the text with new Date().
  const instant = Date.parse(text);
  if (Number.isNaN(instant)) return false;
  const utcYear = new Date(instant).getUTCFullYear();
  return utcYear >= 1 && utcYear <= 9999;
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
