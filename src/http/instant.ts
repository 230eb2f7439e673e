// Timestamps a request may carry: RFC 3339 text naming a real instant (no 30 February, no
// hour 25, no leap second) between the years 1 and 9999, which Date and timestamptz both hold.

const RFC_3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

export function isInstant(text: string): boolean {
  const match = RFC_3339.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (Number(match[7] ?? 0) > 23 || Number(match[8] ?? 0) > 59) return false;
  // Date quietly rolls 30 February over to 1 March and hour 24 to the next day: a real
  // calendar date reads back field for field.
  const calendar = new Date(0);
  calendar.setUTCFullYear(year, month - 1, day);
  calendar.setUTCHours(hour, minute, second);
  const readBack = [calendar.getUTCFullYear(), calendar.getUTCMonth() + 1, calendar.getUTCDate(), calendar.getUTCHours(), calendar.getUTCMinutes(), calendar.getUTCSeconds()];
  if (readBack.some((field, index) => field !== [year, month, day, hour, minute, second][index])) return false;
  // Handlers read it with new Date(); the driver cannot write year 0 or below.
  const instant = Date.parse(text);
  if (Number.isNaN(instant)) return false;
  const utcYear = new Date(instant).getUTCFullYear();
  return utcYear >= 1 && utcYear <= 9999;
}
