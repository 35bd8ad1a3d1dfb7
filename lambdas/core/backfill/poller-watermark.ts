/**
 * The poller's watermark: one item `{id: "poller", watermark_unix_secs, updated_at, checked_at_unix_secs}` in the
 * poller state table. Every conversation that started at or before the watermark is known to be reconciled, as the
 * list showed it at `checked_at_unix_secs` (the saving run's start) or later. Saves are conditional, so two
 * overlapping runs can never move it backwards.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailure } from '../aws/dynamodb.js';
import { StorageError } from '../errors.js';

/** Partition key value of the watermark item. */
export const POLLER_STATE_ID = 'poller';

export interface PollerWatermark {
  /** Unix seconds: every conversation that started at or before it is reconciled. */
  readonly watermarkUnixSecs: number;
  /** ISO-8601 time of the save. */
  readonly updatedAt: string;
  /** When the run that saved it started (unix seconds): it listed everything up to the watermark after this. Absent on items saved before it was kept. */
  readonly checkedAtUnixSecs?: number;
}

/** The port the poller core uses; `createWatermarkStore` backs it with DynamoDB. */
export interface WatermarkStore {
  load(): Promise<PollerWatermark | undefined>;
  /** Saves when it moves the watermark forward; false when the stored one is already at or past it. */
  save(watermarkUnixSecs: number, updatedAt: Date, checkedAtUnixSecs?: number): Promise<boolean>;
}

/** The stored watermark (strongly consistent read), or undefined before the first successful run. */
export async function loadWatermark(client: DynamoDBDocumentClient, tableName: string): Promise<PollerWatermark | undefined> {
  let item: Record<string, unknown> | undefined;
  try {
    ({ Item: item } = await client.send(new GetCommand({ TableName: tableName, Key: { id: POLLER_STATE_ID }, ConsistentRead: true })));
  } catch (error) {
    throw new StorageError('reading the poller watermark failed', { cause: error });
  }
  const value = item?.watermark_unix_secs;
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  const checkedAt = item?.checked_at_unix_secs;
  return {
    watermarkUnixSecs: value,
    updatedAt: typeof item?.updated_at === 'string' ? item.updated_at : '',
    ...(typeof checkedAt === 'number' && Number.isFinite(checkedAt) ? { checkedAtUnixSecs: checkedAt } : {}),
  };
}

/**
 * Stores the watermark only if none is stored or the stored one is lower; returns whether it was written.
 * A concurrent run that already went further wins, silently.
 */
export async function saveWatermark(client: DynamoDBDocumentClient, tableName: string, watermarkUnixSecs: number, updatedAt: Date, checkedAtUnixSecs?: number): Promise<boolean> {
  try {
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          id: POLLER_STATE_ID,
          watermark_unix_secs: watermarkUnixSecs,
          updated_at: updatedAt.toISOString(),
          ...(checkedAtUnixSecs === undefined ? {} : { checked_at_unix_secs: checkedAtUnixSecs }),
        },
        ConditionExpression: 'attribute_not_exists(#id) OR #watermark < :watermark',
        ExpressionAttributeNames: { '#id': 'id', '#watermark': 'watermark_unix_secs' },
        ExpressionAttributeValues: { ':watermark': watermarkUnixSecs },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailure(error)) return false;
    throw new StorageError('saving the poller watermark failed', { cause: error });
  }
}

/** A WatermarkStore on the poller state table. */
export function createWatermarkStore(client: DynamoDBDocumentClient, tableName: string): WatermarkStore {
  return {
    load: () => loadWatermark(client, tableName),
    save: (watermarkUnixSecs, updatedAt, checkedAtUnixSecs) => saveWatermark(client, tableName, watermarkUnixSecs, updatedAt, checkedAtUnixSecs),
  };
}
