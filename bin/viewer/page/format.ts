/** How values read: times in UTC (the day filters and the by_day index are UTC), durations, money, phone masks. */
import { clockDuration as clockReading } from '../../cli/clock-duration.js';

/** `2026-01-01 12:01:00 UTC` */
export function utcTime(unixSecs: number | undefined): string {
  if (unixSecs === undefined || !Number.isFinite(unixSecs)) return '—';
  const iso = new Date(unixSecs * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** `YYYY-MM-DD` of a unix time, UTC. */
export function utcDay(unixSecs: number): string {
  return new Date(unixSecs * 1000).toISOString().slice(0, 10);
}

/** `1:05:09`, `4:07`, `0:03`, or a dash. */
export function clockDuration(seconds: number | undefined): string {
  return clockReading(seconds) ?? '—';
}

/** A JSON value as readable text: strings as they are, everything else pretty-printed. */
export function jsonText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value, null, 2) ?? String(value));
}

/** A string holding JSON pretty-printed (tool parameters and results arrive as JSON strings); other text as it is. */
export function prettyJsonString(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** International numbers (`+` and 7 to 15 digits, separators allowed) anywhere in a string. */
const INTERNATIONAL_NUMBER = /\+\d[\d\s().-]{5,20}\d/g;
/** Keys whose string values are phone numbers whatever their format. */
const PHONE_KEY = /(^|_)(phone|number|caller_id)$/i;

/** Every digit but the last two as a dot: `+15555550199` → `+•••••••••99`. */
export function maskDigits(text: string): string {
  const digits = [...text].filter((character) => /\d/.test(character)).length;
  let seen = 0;
  return text.replace(/\d/g, (digit) => (++seen > digits - 2 ? digit : '•'));
}

/**
 * `value` with phone numbers masked: every international number in a string, and the whole value of phone-like keys
 * (keys ending in `phone`, `number` or `caller_id`: `agent_number`, `system__caller_id`…). The transcript's own words are not passed through this.
 */
export function maskPhoneNumbers(value: unknown, key = ''): unknown {
  if (typeof value === 'string') return PHONE_KEY.test(key) ? maskDigits(value) : value.replace(INTERNATIONAL_NUMBER, maskDigits);
  if (Array.isArray(value)) return value.map((item) => maskPhoneNumbers(item, key));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, maskPhoneNumbers(item, name)]));
  return value;
}
