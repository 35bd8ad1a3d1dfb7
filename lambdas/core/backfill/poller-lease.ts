/**
 * The poller's run lease: one item `{id: "poller-lease", holder, expires_at_ms, acquired_at}` in the poller state
 * table, taken by a conditional write when a run starts and deleted when it ends, so two overlapping runs (a slow run
 * meeting the next schedule, a manual invoke, a scheduler retry) never both reconcile. It replaces reserved concurrency
 * 1, which a new account's concurrency quota often cannot grant. A run that dies holding it blocks others only until
 * the lease expires: its time budget plus a margin.
 */
import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailure } from '../aws/dynamodb.js';
import { StorageError } from '../errors.js';

/** Partition key value of the lease item (the watermark is `poller`). */
export const POLLER_LEASE_ID = 'poller-lease';

/** Added to a run's time budget: a lease outlives its run's Lambda timeout, never the next scheduled run by much. */
export const LEASE_MARGIN_MS = 60_000;

/** The port the poller handler uses; `createPollerLease` backs it with DynamoDB. */
export interface PollerLease {
  /** Takes the lease for `holder` until `ttlMs` from now; false when another holder has an unexpired one. */
  acquire(holder: string, ttlMs: number): Promise<boolean>;
  /** Gives it back, if `holder` still holds it. */
  release(holder: string): Promise<void>;
}

/** A PollerLease on the poller state table (single-item conditional writes only). */
export function createPollerLease(client: DynamoDBDocumentClient, tableName: string, nowMs: () => number = Date.now): PollerLease {
  return {
    async acquire(holder, ttlMs) {
      const now = nowMs();
      try {
        await client.send(
          new PutCommand({
            TableName: tableName,
            Item: { id: POLLER_LEASE_ID, holder, expires_at_ms: now + ttlMs, acquired_at: new Date(now).toISOString() },
            ConditionExpression: 'attribute_not_exists(#id) OR #expires < :now',
            ExpressionAttributeNames: { '#id': 'id', '#expires': 'expires_at_ms' },
            ExpressionAttributeValues: { ':now': now },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionalCheckFailure(error)) return false;
        throw new StorageError('taking the poller lease failed', { cause: error });
      }
    },
    async release(holder) {
      try {
        await client.send(
          new DeleteCommand({
            TableName: tableName,
            Key: { id: POLLER_LEASE_ID },
            ConditionExpression: '#holder = :holder',
            ExpressionAttributeNames: { '#holder': 'holder' },
            ExpressionAttributeValues: { ':holder': holder },
          }),
        );
      } catch (error) {
        // Expired and taken by the next run meanwhile: it is that run's now.
        if (isConditionalCheckFailure(error)) return;
        throw new StorageError('releasing the poller lease failed', { cause: error });
      }
    },
  };
}

/**
 * Runs `run` holding the lease, or returns undefined without running it when another run holds it. A release that
 * fails is reported to `onReleaseFailure` and otherwise ignored: the run's work is done, and the lease expires.
 */
export async function withPollerLease<T>(
  lease: PollerLease,
  holder: string,
  ttlMs: number,
  run: () => Promise<T>,
  onReleaseFailure: (error: unknown) => void = () => undefined,
): Promise<T | undefined> {
  if (!(await lease.acquire(holder, ttlMs))) return undefined;
  try {
    return await run();
  } finally {
    await lease.release(holder).catch(onReleaseFailure);
  }
}
