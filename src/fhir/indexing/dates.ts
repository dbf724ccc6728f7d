/**
 * FHIR date / dateTime / instant → the UTC instant range it covers. Shared by the indexer (date
 * rows) and search (parse.ts, plan.ts), so a query value and an indexed value of the same text
 * always cover the same instants.
 */

/** Lower and upper surrogates for open date ranges (Period without start or end). */
export const DATE_MIN = '0001-01-01T00:00:00.000Z';
export const DATE_MAX = '9999-12-31T23:59:59.999Z';
const DATE_MIN_MS = Date.parse(DATE_MIN);
const DATE_MAX_MS = Date.parse(DATE_MAX);

const DATE_RE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

function utcMillis(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime();
}

function toIso(ms: number): string {
  return new Date(Math.min(Math.max(ms, DATE_MIN_MS), DATE_MAX_MS)).toISOString();
}

/**
 * The UTC instant range covered by a FHIR date, dateTime or instant: `2024` is the whole year,
 * `2024-03` the month, `2024-03-05` the day, `…T10:30+02:00` the minute (converted to UTC).
 */
export function dateRange(value: string): { low: string; high: string } | undefined {
  const m = DATE_RE.exec(value);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = m[2] === undefined ? undefined : Number(m[2]);
  const day = m[3] === undefined ? undefined : Number(m[3]);
  if (year < 1) return undefined;
  if (month === undefined) {
    return { low: toIso(utcMillis(year, 1, 1)), high: toIso(utcMillis(year + 1, 1, 1) - 1) };
  }
  if (month < 1 || month > 12) return undefined;
  if (day === undefined) {
    return { low: toIso(utcMillis(year, month, 1)), high: toIso(utcMillis(year, month + 1, 1) - 1) };
  }
  const daysInMonth = new Date(utcMillis(year, month + 1, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return undefined;
  if (m[4] === undefined) {
    const low = utcMillis(year, month, day);
    return { low: toIso(low), high: toIso(utcMillis(year, month, day + 1) - 1) };
  }
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  if (hour > 23 || minute > 59) return undefined;
  let low: number;
  let width: number;
  if (m[6] === undefined) {
    low = utcMillis(year, month, day, hour, minute);
    width = 60_000;
  } else {
    const second = Number(m[6]);
    if (second > 59) return undefined;
    const fraction = m[7] ?? '';
    const ms = fraction.length === 0 ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
    low = utcMillis(year, month, day, hour, minute, second, ms);
    width = fraction.length >= 3 ? 1 : fraction.length === 0 ? 1000 : 10 ** (3 - fraction.length);
  }
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const offsetHours = Number(zone.slice(1, 3));
    const offsetMinutes = Number(zone.slice(4, 6));
    if (offsetHours > 14 || offsetMinutes > 59) return undefined;
    const offset = (offsetHours * 60 + offsetMinutes) * 60_000;
    low += zone[0] === '+' ? -offset : offset;
  }
  return { low: toIso(low), high: toIso(low + width - 1) };
}
