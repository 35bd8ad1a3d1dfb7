/**
 * The viewer API's query parameters: UTC day ranges, the list filters, and the paging cursor, each refused with a
 * message naming the parameter.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, parseListQuery } from '../../bin/viewer/conversation-list.js';
import { BadRequestError, conversationIdFromPath, decodeCursor, encodeCursor, MAX_RANGE_DAYS, parseDayRange } from '../../bin/viewer/query.js';
import { DEFAULT_LIST_LOOKBACK_SECS } from '../../lambdas/core/record/conversation-reader.js';

const NOW = Date.parse('2026-03-10T15:00:00Z') / 1000;
const params = (query: string) => new URLSearchParams(query);

describe('parseDayRange', () => {
  it('covers whole UTC days, both inclusive', () => {
    // Act
    const range = parseDayRange(params('since=2026-03-01&until=2026-03-02'), NOW);

    // Assess
    expect(range).toEqual({ since: Date.parse('2026-03-01T00:00:00Z') / 1000, until: Date.parse('2026-03-02T23:59:59Z') / 1000 });
  });

  it('defaults to the read API’s lookback up to now, or before the last day given', () => {
    // Act + Assess
    expect(parseDayRange(params(''), NOW)).toEqual({ since: NOW - DEFAULT_LIST_LOOKBACK_SECS, until: NOW });
    const until = Date.parse('2026-02-01T23:59:59Z') / 1000;
    expect(parseDayRange(params('until=2026-02-01'), NOW)).toEqual({ since: until - DEFAULT_LIST_LOOKBACK_SECS, until });
  });

  it.each([
    ['since=2026-02-30', 'since must be a day as YYYY-MM-DD (got "2026-02-30")'],
    ['until=yesterday', 'until must be a day as YYYY-MM-DD (got "yesterday")'],
    ['since=2026-03-05&until=2026-03-01', 'since must not be after until'],
    ['since=2024-01-01&until=2026-03-01', `choose at most ${MAX_RANGE_DAYS} days (since to until)`],
  ])('refuses %s', (query, message) => {
    // Act + Assess
    expect(() => parseDayRange(params(query), NOW)).toThrow(new BadRequestError(message));
  });
});

describe('parseListQuery', () => {
  it('reads every filter, lower-cases the free text and applies the default page size', () => {
    // Act
    const query = parseListQuery(params('agent=agent_1&status=done&success=failure&q=  Refund  &since=2026-03-01'), NOW);

    // Assess
    expect(query).toMatchObject({ agentId: 'agent_1', status: 'done', callSuccessful: 'failure', text: 'refund', limit: DEFAULT_PAGE_SIZE, until: NOW });
    expect(query.after).toBeUndefined();
  });

  it.each([
    ['limit=0', `limit must be a whole number from 1 to ${MAX_PAGE_SIZE} (got "0")`],
    [`limit=${MAX_PAGE_SIZE + 1}`, `limit must be a whole number from 1 to ${MAX_PAGE_SIZE} (got "${MAX_PAGE_SIZE + 1}")`],
    ['limit=2.5', `limit must be a whole number from 1 to ${MAX_PAGE_SIZE} (got "2.5")`],
    [`q=${'x'.repeat(201)}`, 'q is longer than 200 characters'],
    ['after=bm90IGEgY3Vyc29y', 'after is not a cursor this viewer gave out'],
  ])('refuses %s', (query, message) => {
    // Act + Assess
    expect(() => parseListQuery(params(query), NOW)).toThrow(new BadRequestError(message));
  });
});

describe('the paging cursor', () => {
  it('gives back the position it was made from, and only that', () => {
    // Prepare
    const position = { conversationId: 'unknown#ab12', startTimeUnixSecs: 1767268860 };

    // Act
    const cursor = encodeCursor(position);

    // Assess
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(position);
    for (const forged of [JSON.stringify(['id']), JSON.stringify(['', 1]), JSON.stringify([1, 1]), JSON.stringify(['id', '1']), JSON.stringify(['id', null]), '{"a":1}']) {
      expect(() => decodeCursor(Buffer.from(forged).toString('base64url'))).toThrow(BadRequestError);
    }
  });
});

describe('conversationIdFromPath', () => {
  it('decodes percent-encoding (an orphan event’s key holds a #) and refuses what is not an id', () => {
    // Act + Assess
    expect(conversationIdFromPath('unknown%23ab12')).toBe('unknown#ab12');
    expect(() => conversationIdFromPath('%E0%A4%A')).toThrow(BadRequestError);
    expect(() => conversationIdFromPath('x'.repeat(1025))).toThrow(BadRequestError);
  });
});
