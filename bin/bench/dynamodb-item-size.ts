/**
 * DynamoDB's size and write-unit rules, applied to items read back from the emulator: what an item, an index entry and
 * a write cost. Pure, so the unit tests check them by hand.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

export type StoredItem = Readonly<Record<string, AttributeValue>>;

/** One write request unit covers up to 1 KB of item. */
export const WRITE_UNIT_BYTES = 1024;

/**
 * DynamoDB's item size rules, roughly: each attribute's name bytes plus its value's bytes; a number about one byte
 * per two significant digits plus one; a map or list 3 bytes plus 1 per element plus the elements (a map's with
 * their names).
 */
export function dynamoDbItemBytes(item: StoredItem): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + attributeValueBytes(value), 0);
}

function attributeValueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, element) => sum + Buffer.byteLength(element), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, element) => sum + numberBytes(element), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, element) => sum + element.byteLength, 0);
  if (value.L !== undefined) return value.L.reduce((sum, element) => sum + 1 + attributeValueBytes(element), 3);
  if (value.M !== undefined) return Object.entries(value.M).reduce((sum, [name, element]) => sum + 1 + Buffer.byteLength(name) + attributeValueBytes(element), 3);
  return 0;
}

function numberBytes(text: string): number {
  const significant = text.replace(/[eE].*$/, '').replace(/\D/g, '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(significant.length / 2) + 1;
}

/** A global secondary index as its writes see it: its keys and what it projects (`all`, or these attribute names). */
export interface IndexShape {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly projection: 'all' | readonly string[];
}

/**
 * The index's entry for `item`: the table key, the index's keys and the projected attributes; undefined when the item
 * lacks one of the index's keys (it is not in the index).
 */
export function indexEntryOf(item: StoredItem | undefined, tableKey: string, index: IndexShape): StoredItem | undefined {
  if (item === undefined || item[index.partitionKey] === undefined || item[index.sortKey] === undefined) return undefined;
  if (index.projection === 'all') return item;
  const names = new Set([tableKey, index.partitionKey, index.sortKey, ...index.projection]);
  return Object.fromEntries(Object.entries(item).filter(([name]) => names.has(name)));
}

const units = (bytes: number) => Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES));
const sameValue = (left: AttributeValue | undefined, right: AttributeValue | undefined) => JSON.stringify(left) === JSON.stringify(right);

/**
 * Write units one put of `after` over `before` costs an index (DynamoDB's rules for global secondary indexes): none when
 * the item is in the index neither before nor after, or when its entry is unchanged; one put of the new entry when it
 * enters the index; one delete of the old when it leaves; a delete and a put when an index key changes; else one put,
 * charged (as for the table) by the larger of the old and new entry.
 */
export function indexWriteUnits(before: StoredItem | undefined, after: StoredItem | undefined, tableKey: string, index: IndexShape): number {
  const old = indexEntryOf(before, tableKey, index);
  const next = indexEntryOf(after, tableKey, index);
  if (old === undefined && next === undefined) return 0;
  if (old === undefined) return units(dynamoDbItemBytes(next as StoredItem));
  if (next === undefined) return units(dynamoDbItemBytes(old));
  if (!sameValue(old[index.partitionKey], next[index.partitionKey]) || !sameValue(old[index.sortKey], next[index.sortKey])) {
    return units(dynamoDbItemBytes(old)) + units(dynamoDbItemBytes(next));
  }
  const names = new Set([...Object.keys(old), ...Object.keys(next)]);
  if ([...names].every((name) => sameValue(old[name], next[name]))) return 0;
  return units(Math.max(dynamoDbItemBytes(old), dynamoDbItemBytes(next)));
}

/** Write units of one PutItem of `after` over `before`: the table (the larger item, per KB) plus every index. */
export function putWriteUnits(before: StoredItem | undefined, after: StoredItem, tableKey: string, indexes: readonly IndexShape[]): { readonly table: number; readonly indexes: number } {
  return {
    table: units(Math.max(before === undefined ? 0 : dynamoDbItemBytes(before), dynamoDbItemBytes(after))),
    indexes: indexes.reduce((sum, index) => sum + indexWriteUnits(before, after, tableKey, index), 0),
  };
}
