import { describe, expect, it } from 'vitest';
import { isDynamoDbNumber, isDynamoDbStorable } from '../../lambdas/core/storage-limits.js';
import { parseWebhookEvent } from '../../lambdas/core/ingest/webhook-event.js';

describe('isDynamoDbNumber', () => {
  it('takes zero and magnitudes from 1E-130 up to, not including, 1E+126', () => {
    // Act + Assess
    for (const value of [0, -0, 1e-130, -1e-130, 1.5, 9.99e125, -9.99e125]) expect(isDynamoDbNumber(value), String(value)).toBe(true);
    for (const value of [1e-131, 5e-324, 1e126, -1e126, 1e300, Number.POSITIVE_INFINITY, Number.NaN]) expect(isDynamoDbNumber(value), String(value)).toBe(false);
  });
});

describe('isDynamoDbStorable', () => {
  it('refuses values nested beyond 32 levels, numbers out of range and __proto__ keys, wherever they sit', () => {
    // Prepare
    const protoKey = JSON.parse('{"a":[{"__proto__":{"x":1}}]}') as unknown;

    // Act + Assess
    expect(isDynamoDbStorable({ turns: [{ text: 'hi', score: 0.5, tags: ['a'] }], nothing: null })).toBe(true);
    expect(isDynamoDbStorable({ deep: [[{ value: 1e300 }]] })).toBe(false);
    expect(isDynamoDbStorable([1, 2, 5e-324])).toBe(false);
    expect(isDynamoDbStorable(protoKey)).toBe(false);
    expect(isDynamoDbStorable(JSON.parse(`${'['.repeat(32)}${']'.repeat(32)}`))).toBe(true);
    expect(isDynamoDbStorable(JSON.parse(`${'['.repeat(33)}1${']'.repeat(33)}`))).toBe(false);
  });

  it('walks a list of 200,000 elements without exceeding the arguments limit', () => {
    // Act + Assess
    expect(isDynamoDbStorable(Array.from({ length: 200_000 }, (_, index) => index))).toBe(true);
  });
});

describe('the envelope timestamp', () => {
  it('counts only plausible unix seconds, so an absurd one cannot reach a DynamoDB number', () => {
    // Act
    const timestamp = (value: string) => parseWebhookEvent(`{"type":"post_call_audio","event_timestamp":${value},"data":{}}`).eventTimestamp;

    // Assess
    expect(timestamp('1767268920')).toBe(1767268920);
    expect(timestamp('"1767268920"')).toBe(1767268920);
    expect(timestamp('0')).toBe(0);
    for (const absurd of ['1e300', '5e-324', '0.5', '-1', '1e12']) expect(timestamp(absurd), absurd).toBeUndefined();
  });
});
