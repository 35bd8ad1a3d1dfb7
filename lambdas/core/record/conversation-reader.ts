/**
 * The read API over the conversations table and bucket, used by the command-line tools: whole records with their
 * offloaded parts restored, listings by start time through the indexes (never a Scan), and recordings.
 */
import { GetCommand, QueryCommand, type DynamoDBDocumentClient, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { utcDayOf, type ConversationRecord } from './conversation-record.js';
import { conversationObjects, type ConversationObjects, type ConversationStorageOptions } from './conversation-objects.js';
import { CONVERSATIONS_TABLE } from './conversation-table-schema.js';
import { fromStoredValue } from './stored-value-codec.js';

export type { ConversationRecord } from './conversation-record.js';

/** Default time range of `listConversations` without `since`: the last 30 days. */
export const DEFAULT_LIST_LOOKBACK_SECS = 30 * 24 * 3600;

/** Day buckets queried ahead while listing without an agent. */
const DAY_PREFETCH = 4;

export interface GetConversationOptions {
  /** Return the transcript (fetched from S3 when offloaded). @default true */
  readonly includeTranscript?: boolean;
}

export interface ListConversationsOptions {
  /** Only this agent's conversations (uses the by_agent index); otherwise by_day buckets are queried. */
  readonly agentId?: string;
  /** Earliest start time, unix seconds, inclusive. @default until - DEFAULT_LIST_LOOKBACK_SECS */
  readonly since?: number;
  /** Latest start time, unix seconds, inclusive. @default now */
  readonly until?: number;
  /** Only records with this `status` (e.g. `done`, `failed`, `unknown_event`). */
  readonly status?: string;
  /** Stop after this many records. @default no limit */
  readonly limit?: number;
  /** @default 'newest_first' */
  readonly order?: 'newest_first' | 'oldest_first';
  /** Return transcripts (one S3 read per offloaded transcript). @default false: `transcript` is omitted */
  readonly includeTranscript?: boolean;
}

export interface ConversationReader {
  /** The whole record (offloaded parts restored), or undefined when there is none. */
  getConversation(conversationId: string, options?: GetConversationOptions): Promise<ConversationRecord | undefined>;
  /**
   * Records whose start time is in [since, until], ordered by start time. Queries the by_agent index when `agentId`
   * is given, otherwise one by_day bucket per UTC day of the range (never a Scan).
   */
  listConversations(options?: ListConversationsOptions): AsyncIterable<ConversationRecord>;
  /** The call's MP3, or undefined when the record has no audio. */
  getAudio(conversationId: string): Promise<Uint8Array | undefined>;
}

/** The read API over the conversations table and bucket. */
export function createConversationReader(options: ConversationStorageOptions): ConversationReader {
  const { documentClient, tableName } = options;
  const objects = conversationObjects(options);

  return {
    async getConversation(conversationId, { includeTranscript = true } = {}) {
      const { Item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: { [CONVERSATIONS_TABLE.partitionKey]: conversationId }, ConsistentRead: true }));
      return Item === undefined ? undefined : presentRecord(Item, includeTranscript, objects);
    },

    async *listConversations(listOptions = {}) {
      const until = listOptions.until ?? Math.floor(Date.now() / 1000);
      const since = listOptions.since ?? until - DEFAULT_LIST_LOOKBACK_SECS;
      let remaining = listOptions.limit ?? Number.POSITIVE_INFINITY;
      if (since > until || remaining <= 0) return;
      const range = { since, until, newestFirst: (listOptions.order ?? 'newest_first') === 'newest_first' };
      for await (const item of queryPartitions(partitionQueries(documentClient, tableName, range, listOptions))) {
        yield await presentRecord(item, listOptions.includeTranscript ?? false, objects);
        if (--remaining <= 0) return;
      }
    },

    async getAudio(conversationId) {
      const { Item } = await documentClient.send(
        new GetCommand({ TableName: tableName, Key: { [CONVERSATIONS_TABLE.partitionKey]: conversationId }, ProjectionExpression: '#audio', ExpressionAttributeNames: { '#audio': 'audio' } }),
      );
      const key = (Item?.audio as { s3_key?: unknown } | undefined)?.s3_key;
      return typeof key === 'string' ? objects.get(key) : undefined;
    },
  };
}

/** A stored item as a whole record: offloaded sections back in place, the transcript read back or left out. */
async function presentRecord(item: Record<string, unknown>, includeTranscript: boolean, objects: ConversationObjects): Promise<ConversationRecord> {
  const record = fromStoredValue(item) as ConversationRecord;
  if (record.offloaded_s3_key !== undefined) Object.assign(record, await objects.readSections(record.offloaded_s3_key));
  if (!includeTranscript) delete record.transcript;
  else if (record.transcript_location === 's3' && record.transcript_s3_key !== undefined) record.transcript = await objects.readGzipJson(record.transcript_s3_key);
  return record;
}

type PartitionQuery = (exclusiveStartKey?: Record<string, unknown>) => Promise<QueryCommandOutput>;

/** Start times in [since, until], in the listing's order. */
interface ListRange {
  readonly since: number;
  readonly until: number;
  readonly newestFirst: boolean;
}

/** One query per index partition to read, in order: the agent's by_agent partition, or each UTC day's by_day bucket. */
function partitionQueries(
  documentClient: DynamoDBDocumentClient,
  tableName: string,
  { since, until, newestFirst }: ListRange,
  { agentId, status }: Pick<ListConversationsOptions, 'agentId' | 'status'>,
): PartitionQuery[] {
  const statusFilter = status === undefined ? undefined : { expression: '#status = :status', names: { '#status': 'status' }, values: { ':status': status } };
  const queryFor =
    (index: { indexName: string; partitionKey: string; sortKey: string }, partition: string): PartitionQuery =>
    (exclusiveStartKey) =>
      documentClient.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: index.indexName,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :since AND :until',
          FilterExpression: statusFilter?.expression,
          ExpressionAttributeNames: { '#pk': index.partitionKey, '#sk': index.sortKey, ...statusFilter?.names },
          ExpressionAttributeValues: { ':pk': partition, ':since': since, ':until': until, ...statusFilter?.values },
          ScanIndexForward: !newestFirst,
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
  return agentId !== undefined
    ? [queryFor(CONVERSATIONS_TABLE.byAgentIndex, agentId)]
    : daysBetween(since, until, newestFirst).map((day) => queryFor(CONVERSATIONS_TABLE.byDayIndex, day));
}

/** Items of each partition in turn, all pages; the first pages of the next few partitions are fetched ahead. */
async function* queryPartitions(partitions: readonly PartitionQuery[]): AsyncGenerator<Record<string, unknown>> {
  const firstPages = new Map<number, Promise<QueryCommandOutput>>();
  const prefetch = (index: number) => {
    const partition = partitions[index];
    if (partition === undefined || firstPages.has(index)) return;
    const page = partition();
    page.catch(() => undefined); // awaited below; this keeps an abandoned prefetch from becoming an unhandled rejection
    firstPages.set(index, page);
  };
  for (let index = 0; index < partitions.length; index++) {
    for (let ahead = index; ahead < index + DAY_PREFETCH; ahead++) prefetch(ahead);
    const partition = partitions[index];
    let page = await firstPages.get(index);
    firstPages.delete(index);
    while (page !== undefined && partition !== undefined) {
      yield* page.Items ?? [];
      page = page.LastEvaluatedKey === undefined ? undefined : await partition(page.LastEvaluatedKey);
    }
  }
}

/** UTC days (YYYY-MM-DD) touched by [since, until]. */
function daysBetween(since: number, until: number, newestFirst: boolean): string[] {
  const first = utcDayOf(since);
  const last = utcDayOf(until);
  if (first === undefined || last === undefined) throw new RangeError(`time range ${since}..${until} is outside the calendar`);
  const days: string[] = [];
  for (let time = Date.parse(`${first}T00:00:00Z`); time <= Date.parse(`${last}T00:00:00Z`); time += 86_400_000) {
    days.push(new Date(time).toISOString().slice(0, 10));
  }
  return newestFirst ? days.reverse() : days;
}
