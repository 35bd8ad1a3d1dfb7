import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { dynamoDbItemBytes, indexWriteUnits, putWriteUnits, type IndexShape } from '../../bin/bench/dynamodb-item-size.js';

const BY_DAY: IndexShape = { name: 'by_day', partitionKey: 'start_day', sortKey: 'start_time_unix_secs', projection: ['status'] };
const FULL: IndexShape = { ...BY_DAY, projection: 'all' };
const text = (value: string): AttributeValue => ({ S: value });

/** An item of about `bytes` bytes: keys, status, and padding the index does not project. */
function item(overrides: Record<string, AttributeValue> = {}, paddingBytes = 2900): Record<string, AttributeValue> {
  return { conversation_id: text('c1'), start_day: text('2026-01-01'), start_time_unix_secs: { N: '1767225600' }, status: text('done'), conversation: text('x'.repeat(paddingBytes)), ...overrides };
}

describe('DynamoDB write units (bench/dynamodb-item-size.ts)', () => {
  it('sizes an item by attribute names and values', () => {
    expect(dynamoDbItemBytes({ ab: text('xyz'), n: { N: '12345' }, flag: { BOOL: true } })).toBe(2 + 3 + 1 + 4 + 4 + 1);
  });

  it('charges the table by the larger item per KB, and an INCLUDE index by its small entry', () => {
    expect(putWriteUnits(undefined, item(), 'conversation_id', [BY_DAY, FULL])).toEqual({ table: 3, indexes: 1 + 3 });
    expect(putWriteUnits(item({}, 5000), item({}, 100), 'conversation_id', [])).toEqual({ table: 5, indexes: 0 });
  });

  it('charges an index nothing when its entry is unchanged or the item is in it neither before nor after', () => {
    expect(indexWriteUnits(item(), item({}, 6000), 'conversation_id', BY_DAY)).toBe(0);
    expect(indexWriteUnits(item({}, 10), item({}, 20), 'conversation_id', FULL)).toBe(1);
    const { start_day: _absent, ...unindexed } = item();
    expect(indexWriteUnits(unindexed, unindexed, 'conversation_id', BY_DAY)).toBe(0);
  });

  it('charges a projected change one put, a key change a delete and a put, leaving the index one delete', () => {
    const { start_day: _absent, ...unindexed } = item();
    expect(indexWriteUnits(item(), item({ status: text('failed') }), 'conversation_id', BY_DAY)).toBe(1);
    expect(indexWriteUnits(item(), item({ start_time_unix_secs: { N: '1767225700' } }), 'conversation_id', BY_DAY)).toBe(2);
    expect(indexWriteUnits(item(), unindexed, 'conversation_id', BY_DAY)).toBe(1);
  });
});
