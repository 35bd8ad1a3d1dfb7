/**
 * The read API over the conversations table and bucket, used by the command-line tools and the viewer: whole records
 * with their offloaded parts restored, listings by start time through the indexes (never a Scan) that can resume
 * after a record, and recordings (whole, or a byte range streamed).
 */
import { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { BatchGetCommand, GetCommand, QueryCommand, type DynamoDBDocumentClient, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { utcDayOf, type AudioObject, type ConversationRecord } from './conversation-record.js';
import { conversationObjects, restoreRecord, type ConversationObjects, type ConversationStorageOptions } from './conversation-objects.js';
import { CONVERSATIONS_TABLE } from './conversation-table-schema.js';
import { fromStoredValue } from './stored-value-codec.js';
import { StorageError } from '../errors.js';

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
  /**
   * Read only these attributes (a ProjectionExpression) besides the keys `conversation_id` and `start_time_unix_secs`:
   * a summary listing then moves a few hundred bytes per record instead of the whole item, and reads nothing from S3
   * unless `offloaded_s3_key` or `transcript_s3_key` are among them. When all are in the indexes
   * (`CONVERSATIONS_TABLE.listAttributes`) the index alone answers; otherwise, and without `attributes`, each page's
   * items are read from the table (BatchGetItem). @default every attribute
   */
  readonly attributes?: readonly (keyof ConversationRecord)[];
  /** Continue after this record, the last one a listing with the same options returned (paging). */
  readonly after?: ListPosition;
  /**
   * Items per Query request (DynamoDB's `Limit`): a caller that needs a page of 50 reads about 50, not DynamoDB's
   * 1 MB page (~180 records), in time and read units alike. @default up to 1 MB per request
   */
  readonly queryPageSize?: number;
}

/** A record's place in a listing: what `after` needs to continue behind it. */
export interface ListPosition {
  readonly conversationId: string;
  readonly startTimeUnixSecs: number;
}

/** Bytes `start` to `end` of an object, both inclusive (as in HTTP and S3 `Range: bytes=start-end`). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** A stored recording: its size and type, and streamed reads of all or part of it. */
export interface StoredAudio {
  readonly bytes: number;
  readonly contentType: string;
  /** Streams the recording, or the bytes of `range`, which must lie inside it (throws RangeError otherwise). */
  read(range?: ByteRange): Promise<Readable>;
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
  /** The stored recording for streamed and ranged reads (an audio player seeking), or undefined when there is none. */
  openAudio(conversationId: string): Promise<StoredAudio | undefined>;
}

/** The read API over the conversations table and bucket. */
export function createConversationReader(options: ConversationStorageOptions): ConversationReader {
  const { documentClient, tableName, s3, bucketName } = options;
  const objects = conversationObjects(options);
  const audioObjectOf = async (conversationId: string): Promise<Partial<AudioObject> | undefined> => {
    const { Item } = await documentClient.send(
      new GetCommand({ TableName: tableName, Key: { [CONVERSATIONS_TABLE.partitionKey]: conversationId }, ProjectionExpression: '#audio', ExpressionAttributeNames: { '#audio': 'audio' } }),
    );
    return Item?.audio as Partial<AudioObject> | undefined;
  };

  const readItem = async (conversationId: string) =>
    (await documentClient.send(new GetCommand({ TableName: tableName, Key: { [CONVERSATIONS_TABLE.partitionKey]: conversationId }, ConsistentRead: true }))).Item;

  /**
   * The item as a whole record. A write that replaces an offloaded object deletes the old one once the item no longer
   * points at it, so an item read just before that write may name an object already gone: it is read again, once.
   */
  const present = async (item: Record<string, unknown>, includeTranscript: boolean): Promise<ConversationRecord | undefined> => {
    try {
      return await presentRecord(item, includeTranscript, objects);
    } catch (error) {
      if ((error as Error | undefined)?.name !== 'NoSuchKey' || typeof item[CONVERSATIONS_TABLE.partitionKey] !== 'string') throw error;
      const fresh = await readItem(item[CONVERSATIONS_TABLE.partitionKey] as string);
      return fresh === undefined ? undefined : presentRecord(fresh, includeTranscript, objects);
    }
  };

  return {
    async getConversation(conversationId, { includeTranscript = true } = {}) {
      const item = await readItem(conversationId);
      return item === undefined ? undefined : present(item, includeTranscript);
    },

    async *listConversations(listOptions = {}) {
      const until = listOptions.until ?? Math.floor(Date.now() / 1000);
      const since = listOptions.since ?? until - DEFAULT_LIST_LOOKBACK_SECS;
      let remaining = listOptions.limit ?? Number.POSITIVE_INFINITY;
      // DynamoDB refuses a Limit below 1 (an emulator may take it): refused here, the same everywhere.
      if (listOptions.queryPageSize !== undefined && !(Number.isInteger(listOptions.queryPageSize) && listOptions.queryPageSize >= 1)) {
        throw new RangeError(`queryPageSize must be a whole number ≥ 1 (got ${listOptions.queryPageSize})`);
      }
      const range = resumedRange({ since, until, newestFirst: (listOptions.order ?? 'newest_first') === 'newest_first' }, listOptions.after);
      if (range === undefined || remaining <= 0) return;
      const fromIndex = listOptions.attributes !== undefined && listOptions.attributes.every((name) => INDEXED_ATTRIBUTES.has(name));
      // The indexes carry the listing attributes only: a listing that needs more reads each page's items from the table.
      const pages = queryPartitions(partitionQueries(documentClient, tableName, range, { ...listOptions, attributes: fromIndex ? listOptions.attributes : KEY_ATTRIBUTES }));
      const items = fromIndex ? pages : tableItems(documentClient, tableName, pages, listOptions.attributes);
      for await (const item of items) {
        const record = await present(item, listOptions.includeTranscript ?? false);
        if (record === undefined) continue;
        yield record;
        if (--remaining <= 0) return;
      }
    },

    async getAudio(conversationId) {
      const key = (await audioObjectOf(conversationId))?.s3_key;
      return typeof key === 'string' ? objects.get(key) : undefined;
    },

    async openAudio(conversationId) {
      const audio = await audioObjectOf(conversationId);
      if (typeof audio?.s3_key !== 'string' || typeof audio.bytes !== 'number') return undefined;
      return storedAudio(s3, bucketName, { s3_key: audio.s3_key, bytes: audio.bytes, content_type: typeof audio.content_type === 'string' ? audio.content_type : 'audio/mpeg' });
    },
  };
}

/**
 * Ranged reads of one recording. Only ranges inside the object are sent to S3, so the HTTP range rules (suffix ranges,
 * ranges past the end) are the caller's, not left to S3 or its emulator, which differ on them.
 */
function storedAudio(s3: ConversationStorageOptions['s3'], bucketName: string, audio: AudioObject): StoredAudio {
  return {
    bytes: audio.bytes,
    contentType: audio.content_type,
    async read(range) {
      if (range !== undefined && !(Number.isInteger(range.start) && Number.isInteger(range.end) && range.start >= 0 && range.start <= range.end && range.end < audio.bytes)) {
        throw new RangeError(`bytes ${range.start}-${range.end} are not inside a recording of ${audio.bytes} bytes`);
      }
      const response = await s3.send(new GetObjectCommand({ Bucket: bucketName, Key: audio.s3_key, Range: range === undefined ? undefined : `bytes=${range.start}-${range.end}` }));
      const expected = range === undefined ? audio.bytes : range.end - range.start + 1;
      if (!(response.Body instanceof Readable)) throw new StorageError(`recording ${audio.s3_key} came back without a stream`);
      if (response.ContentLength !== expected) {
        response.Body.destroy();
        throw new StorageError(`recording ${audio.s3_key} answered ${response.ContentLength} bytes where its record promises ${expected}`);
      }
      return response.Body;
    },
  };
}

/** A stored item as a whole record: offloaded sections back in place, the transcript read back or left out. */
function presentRecord(item: Record<string, unknown>, includeTranscript: boolean, objects: ConversationObjects): Promise<ConversationRecord> {
  return restoreRecord(fromStoredValue(item) as ConversationRecord, includeTranscript, objects);
}

type PartitionQuery = (exclusiveStartKey?: Record<string, unknown>) => Promise<QueryCommandOutput>;

/** Start times in [since, until], in the listing's order, beginning after `after` when it is set. */
interface ListRange {
  readonly since: number;
  readonly until: number;
  readonly newestFirst: boolean;
  readonly after?: ListPosition;
}

/**
 * The range left to list after `after`: it starts at that record's time, so the record's day comes first and DynamoDB
 * can resume inside it. AWS refuses an ExclusiveStartKey outside the key condition (an emulator may not), so a position
 * outside the range is never sent: one before the range lists it whole, one past it leaves nothing. Undefined: empty.
 */
function resumedRange(range: ListRange, after: ListPosition | undefined): ListRange | undefined {
  if (range.since > range.until) return undefined;
  if (after === undefined) return range;
  const time = after.startTimeUnixSecs;
  if (range.newestFirst ? time > range.until : time < range.since) return range;
  if (range.newestFirst ? time < range.since : time > range.until) return undefined;
  return range.newestFirst ? { ...range, until: time, after } : { ...range, since: time, after };
}

/** One query per index partition to read, in order: the agent's by_agent partition, or each UTC day's by_day bucket. */
function partitionQueries(
  documentClient: DynamoDBDocumentClient,
  tableName: string,
  { since, until, newestFirst, after }: ListRange,
  { agentId, status, attributes, queryPageSize }: Pick<ListConversationsOptions, 'agentId' | 'status' | 'attributes' | 'queryPageSize'>,
): PartitionQuery[] {
  const statusFilter = status === undefined ? undefined : { expression: '#status = :status', names: { '#status': 'status' }, values: { ':status': status } };
  const projection = attributes === undefined ? undefined : projectionOf(attributes);
  const queryFor =
    (index: { indexName: string; partitionKey: string; sortKey: string }, partition: string): PartitionQuery =>
    (exclusiveStartKey) =>
      documentClient.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: index.indexName,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :since AND :until',
          FilterExpression: statusFilter?.expression,
          ProjectionExpression: projection?.expression,
          ExpressionAttributeNames: { '#pk': index.partitionKey, '#sk': index.sortKey, ...statusFilter?.names, ...projection?.names },
          ExpressionAttributeValues: { ':pk': partition, ':since': since, ':until': until, ...statusFilter?.values },
          ScanIndexForward: !newestFirst,
          ExclusiveStartKey: exclusiveStartKey,
          Limit: queryPageSize,
        }),
      );
  const index = agentId !== undefined ? CONVERSATIONS_TABLE.byAgentIndex : CONVERSATIONS_TABLE.byDayIndex;
  const partitions = agentId !== undefined ? [agentId] : daysBetween(since, until, newestFirst);
  const queries = partitions.map((partition) => queryFor(index, partition));
  const [first, firstPartition] = [queries[0], partitions[0]];
  if (after === undefined || first === undefined || firstPartition === undefined) return queries;
  // The range starts at the position's time, so its partition is the first one; an index's start key is the item's
  // table key plus its index keys.
  const startKey = { [CONVERSATIONS_TABLE.partitionKey]: after.conversationId, [index.partitionKey]: firstPartition, [index.sortKey]: after.startTimeUnixSecs };
  return [(exclusiveStartKey) => first(exclusiveStartKey ?? startKey), ...queries.slice(1)];
}

/** What an index entry holds: the table's key, both indexes' keys, and the listing attributes both project. */
const INDEXED_ATTRIBUTES: ReadonlySet<string> = new Set([
  CONVERSATIONS_TABLE.partitionKey,
  CONVERSATIONS_TABLE.byAgentIndex.partitionKey,
  CONVERSATIONS_TABLE.byDayIndex.partitionKey,
  CONVERSATIONS_TABLE.byDayIndex.sortKey,
  ...CONVERSATIONS_TABLE.listAttributes,
]);

/** Only the keys (projectionOf adds the ones a listing position needs). */
const KEY_ATTRIBUTES: readonly (keyof ConversationRecord)[] = [];

/** DynamoDB's BatchGetItem limit. */
const BATCH_GET_KEYS = 100;
/** BatchGet rounds for keys DynamoDB left unprocessed (throttling) before a listing gives up. */
const BATCH_GET_ATTEMPTS = 8;

/**
 * The table's items for the index entries `entries` yields, in the same order, read 100 at a time (BatchGetItem,
 * strongly consistent, only `attributes` when given). An entry whose item is gone by then is skipped, as a listing a
 * moment later would not have shown it.
 */
async function* tableItems(
  documentClient: DynamoDBDocumentClient,
  tableName: string,
  entries: AsyncIterable<Record<string, unknown>>,
  attributes: readonly string[] | undefined,
): AsyncGenerator<Record<string, unknown>> {
  const projection = attributes === undefined ? undefined : projectionOf(attributes);
  let batch: string[] = [];
  const flush = async function* (ids: readonly string[]) {
    const found = await batchGetItems(documentClient, tableName, ids, projection);
    for (const id of ids) {
      const item = found.get(id);
      if (item !== undefined) yield item;
    }
  };
  for await (const entry of entries) {
    batch.push(entry[CONVERSATIONS_TABLE.partitionKey] as string);
    if (batch.length === BATCH_GET_KEYS) {
      yield* flush(batch);
      batch = [];
    }
  }
  if (batch.length > 0) yield* flush(batch);
}

async function batchGetItems(
  documentClient: DynamoDBDocumentClient,
  tableName: string,
  ids: readonly string[],
  projection: { expression: string; names: Record<string, string> } | undefined,
): Promise<Map<string, Record<string, unknown>>> {
  const found = new Map<string, Record<string, unknown>>();
  let keys: Record<string, unknown>[] = [...new Set(ids)].map((id) => ({ [CONVERSATIONS_TABLE.partitionKey]: id }));
  for (let attempt = 1; keys.length > 0; attempt++) {
    if (attempt > BATCH_GET_ATTEMPTS) throw new StorageError(`DynamoDB left ${keys.length} keys unprocessed after ${BATCH_GET_ATTEMPTS} BatchGetItem rounds`);
    if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 50 * 2 ** (attempt - 2))));
    const response = await documentClient.send(
      new BatchGetCommand({
        RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true, ProjectionExpression: projection?.expression, ExpressionAttributeNames: projection?.names } },
      }),
    );
    for (const item of response.Responses?.[tableName] ?? []) found.set(item[CONVERSATIONS_TABLE.partitionKey] as string, item);
    keys = response.UnprocessedKeys?.[tableName]?.Keys ?? [];
  }
  return found;
}

/** A ProjectionExpression of `attributes` and the keys a listing position needs, with a placeholder per name. */
function projectionOf(attributes: readonly string[]): { expression: string; names: Record<string, string> } {
  const wanted = [...new Set([CONVERSATIONS_TABLE.partitionKey, CONVERSATIONS_TABLE.byDayIndex.sortKey, ...attributes])];
  const names = Object.fromEntries(wanted.map((name, position) => [`#p${position}`, name]));
  return { expression: Object.keys(names).join(', '), names };
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
