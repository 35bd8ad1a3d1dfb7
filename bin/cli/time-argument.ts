/**
 * The time arguments every command takes (`--since`, `--until`, `--timestamp`): ISO-8601 or unix seconds, checked
 * strictly. `Date.parse` rolls impossible dates over (2026-02-30 becomes 2 March) and reads a zone-less date-time in
 * the machine's zone; this reads every field itself, refuses what does not exist, and takes UTC when no zone is given.
 */
import { CommandUsageError } from './io.js';

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Unix seconds beyond this are almost certainly milliseconds (the year 5138). */
const MAX_UNIX_SECONDS = 100_000_000_000;

function daysInMonth(year: number, month: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month, 0);
  return date.getUTCDate();
}

/** Minutes east of UTC of `Z`, `+01`, `+0130` or `-05:00`; undefined when out of range. */
function offsetMinutes(zone: string | undefined): number | undefined {
  if (zone === undefined || zone.toUpperCase() === 'Z') return 0;
  const [, sign, hours, minutes] = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone) ?? [];
  const h = Number(hours);
  const m = Number(minutes ?? 0);
  if (h > 23 || m > 59) return undefined;
  return (sign === '-' ? -1 : 1) * (h * 60 + m);
}

/**
 * Unix seconds from an ISO-8601 date (`2026-01-31`), date-time (`2026-01-31T09:00`, `…:30.5Z`, `…+01:00`) or unix
 * seconds. Throws CommandUsageError naming the flag and what is wrong.
 */
export function parseTimeArgument(name: string, value: string): number {
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    if (seconds > MAX_UNIX_SECONDS) throw new CommandUsageError(`--${name} ${text} looks like milliseconds; give unix seconds`);
    return seconds;
  }
  const fields = ISO_8601.exec(text);
  if (fields === null) throw new CommandUsageError(`--${name} must be an ISO-8601 date or date-time, or unix seconds (got "${text}")`);
  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '', zone] = fields;
  const [y, mo, d, h, mi, s] = [year, month, day, hour, minute, second].map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12) throw new CommandUsageError(`--${name} ${text}: there is no month ${mo}`);
  if (d < 1 || d > daysInMonth(y, mo)) throw new CommandUsageError(`--${name} ${text} is not a date: ${MONTHS[mo - 1]} ${y} has ${daysInMonth(y, mo)} days`);
  if (h > 23 || mi > 59 || s > 59) throw new CommandUsageError(`--${name} ${text} is not a time of day (hours 00-23, minutes and seconds 00-59)`);
  const offset = offsetMinutes(zone);
  if (offset === undefined) throw new CommandUsageError(`--${name} ${text}: the zone offset must be at most ±23:59`);
  const utc = new Date(0);
  // setUTCFullYear, not Date.UTC: the latter reads years 0-99 as 1900-1999.
  utc.setUTCFullYear(y, mo - 1, d);
  utc.setUTCHours(h, mi, s, Math.floor(Number(`0.${fraction || '0'}`) * 1000));
  return Math.floor((utc.getTime() - offset * 60_000) / 1000);
}
