import { describe, expect, it } from 'vitest';
import { NumberValue } from '@aws-sdk/lib-dynamodb';
import { isDynamoDbNumber, isDynamoDbNumberText, isDynamoDbStorable, isSqsAttributeName, isSqsText, keyValueProblem, sqsMessageProblem } from '../../lambdas/core/storage-limits.js';
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

describe('AWS rules beyond doubles (storage-limits.ts)', () => {
  it('judges number texts as DynamoDB does: 38 significant digits, magnitude from 1E-130 below 1E+126', () => {
    expect(isDynamoDbNumberText('1'.repeat(38))).toBe(true);
    expect(isDynamoDbNumberText(`${'1'.repeat(38)}000`)).toBe(true);
    expect(isDynamoDbNumberText('1'.repeat(39))).toBe(false);
    expect(isDynamoDbNumberText('9.9999e125')).toBe(true);
    expect(isDynamoDbNumberText('1e126')).toBe(false);
    expect(isDynamoDbNumberText('1e-130')).toBe(true);
    expect(isDynamoDbNumberText('1e-131')).toBe(false);
    expect(isDynamoDbNumberText('0e999')).toBe(true);
  });

  it('refuses exact numbers DynamoDB cannot hold and empty attribute names, inside any section', () => {
    expect(isDynamoDbStorable({ n: NumberValue.from('12345678901234567890123') })).toBe(true);
    expect(isDynamoDbStorable([{ n: NumberValue.from('1e-400') }])).toBe(false);
    expect(isDynamoDbStorable({ a: { '': 1 } })).toBe(false);
  });

  it('states the key limits in UTF-8 bytes', () => {
    expect(keyValueProblem('a'.repeat(2048), 'partition')).toBeUndefined();
    expect(keyValueProblem('é'.repeat(1025), 'partition')).toBe('too_long');
    expect(keyValueProblem('a'.repeat(1025), 'sort')).toBe('too_long');
    expect(keyValueProblem('', 'partition')).toBe('empty');
  });

  it('accepts in SQS text exactly the characters SQS allows', () => {
    expect(isSqsText('tab\tnewline\n emoji 😀 \uE000 \uFFFD')).toBe(true);
    for (const refused of ['\u0000', '\u0001', '\u001F', '\uFFFE', '\uFFFF', '\uD800']) expect(isSqsText(`a${refused}b`), JSON.stringify(refused)).toBe(false);
  });

  it('checks attribute names, count and the size of body plus attributes', () => {
    expect(['conversation_id', 'a.b-c_d'].every(isSqsAttributeName)).toBe(true);
    expect(['AWS.x', 'amazon.y', '.a', 'a.', 'a..b', 'a b', 'x'.repeat(257)].some(isSqsAttributeName)).toBe(false);
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, index) => [`a${index}`, { DataType: 'String', StringValue: 'x' }]));
    expect(sqsMessageProblem('{}', eleven)).toMatch(/more than 10/);
    expect(sqsMessageProblem('x'.repeat(1024 * 1024 - 8), { a: { DataType: 'String', StringValue: 'x' } })).toBeUndefined();
    expect(sqsMessageProblem('x'.repeat(1024 * 1024 - 7), { a: { DataType: 'String', StringValue: 'x' } })).toMatch(/over 1048576/);
  });
});
