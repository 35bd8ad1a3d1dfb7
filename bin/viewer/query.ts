/**
 * The viewer API's query parameters: a day range (UTC days, as the by_day index buckets them), the listing filters and
 * the paging cursor. Every problem is a BadRequestError (HTTP 400) whose message names the parameter.
 */
import { DEFAULT_LIST_LOOKBACK_SECS, type ListPosition } from '../../lambdas/core/record/conversation-reader.js';

/** A request the viewer cannot answer as asked: 400 with the message. */
export class BadRequestError extends Error {
  override readonly name = 'BadRequestError';
}

/** The longest range one request reads: a listing without an agent queries one by_day partition per day. */
export const MAX_RANGE_DAYS = 366;

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const MAX_TEXT_LENGTH = 200;
const MAX_ID_LENGTH = 1024;

export interface DayRange {
  /** Unix seconds, inclusive: the start of the first day (UTC). */
  readonly since: number;
  /** Unix seconds, inclusive: the end of the last day (UTC), or now when no last day is given. */
  readonly until: number;
}

/** Start of a UTC day `YYYY-MM-DD`, unix seconds. */
function dayStart(name: string, value: string): number {
  const match = DAY.exec(value);
  const time = match === null ? Number.NaN : Date.parse(`${value}T00:00:00Z`);
  if (Number.isNaN(time) || new Date(time).toISOString().slice(0, 10) !== value) throw new BadRequestError(`${name} must be a day as YYYY-MM-DD (got "${value}")`);
  return time / 1000;
}

/** `since` and `until` (UTC days, both inclusive); without them, the reader's default: the 30 days up to now. */
export function parseDayRange(params: URLSearchParams, nowSecs: number): DayRange {
  const sinceDay = optionalText(params, 'since');
  const untilDay = optionalText(params, 'until');
  const until = untilDay === undefined ? nowSecs : dayStart('until', untilDay) + 86_399;
  const since = sinceDay === undefined ? until - DEFAULT_LIST_LOOKBACK_SECS : dayStart('since', sinceDay);
  if (since > until) throw new BadRequestError('since must not be after until');
  if ((until - since) / 86_400 > MAX_RANGE_DAYS) throw new BadRequestError(`choose at most ${MAX_RANGE_DAYS} days (since to until)`);
  return { since, until };
}

/** A trimmed parameter, undefined when absent or blank. */
export function optionalText(params: URLSearchParams, name: string, maxLength = MAX_TEXT_LENGTH): string | undefined {
  const value = params.get(name)?.trim();
  if (value === undefined || value === '') return undefined;
  if (value.length > maxLength) throw new BadRequestError(`${name} is longer than ${maxLength} characters`);
  return value;
}

/** A whole number parameter in [min, max], or `fallback` when absent. */
export function optionalWholeNumber(params: URLSearchParams, name: string, { min, max, fallback }: { min: number; max: number; fallback: number }): number {
  const value = optionalText(params, name);
  if (value === undefined) return fallback;
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(number >= min && number <= max)) throw new BadRequestError(`${name} must be a whole number from ${min} to ${max} (got "${value}")`);
  return number;
}

/** A conversation id from a URL path segment. */
export function conversationIdFromPath(segment: string): string {
  let id: string;
  try {
    id = decodeURIComponent(segment);
  } catch {
    throw new BadRequestError('the conversation id in the path is not valid percent-encoding');
  }
  if (id === '' || id.length > MAX_ID_LENGTH) throw new BadRequestError(`a conversation id has 1 to ${MAX_ID_LENGTH} characters`);
  return id;
}

/** The opaque `after` cursor of a listing page: the last conversation read, as base64url JSON. */
export function encodeCursor(position: ListPosition): string {
  return Buffer.from(JSON.stringify([position.conversationId, position.startTimeUnixSecs]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): ListPosition {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) throw new BadRequestError('after is not a cursor this viewer gave out');
  const [conversationId, startTimeUnixSecs] = decoded as unknown[];
  if (typeof conversationId !== 'string' || conversationId === '' || conversationId.length > MAX_ID_LENGTH || typeof startTimeUnixSecs !== 'number' || !Number.isFinite(startTimeUnixSecs)) {
    throw new BadRequestError('after is not a cursor this viewer gave out');
  }
  return { conversationId, startTimeUnixSecs: startTimeUnixSecs as number };
}
