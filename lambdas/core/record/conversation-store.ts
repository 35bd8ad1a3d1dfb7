/**
 * DynamoDB + S3 adapter for conversation records: the consumer's write path (optimistic concurrency, offloading
 * of what does not fit in an item) and the read API the command-line tools use.
 *
 * Writes are single-item conditional puts (read → pure merge → put if `record_version` is unchanged, else retry),
 * because dynalite has no transactions; DynamoDB's 400 KB item limit is met by moving the transcript (and, if
 * still needed, the other large sections) to gzip JSON objects in S3 — never by truncating.
 */
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetCommand, NumberValue, PutCommand, QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import {
  estimateItemBytes,
  mergeConversationEvent,
  OFFLOADABLE_ATTRIBUTES,
  offloadedSectionsObjectKey,
  transcriptObjectKey,
  utcDayOf,
  type ConversationEvent,
  type ConversationRecord,
  type JsonObject,
  type JsonValue,
  type OffloadableAttribute,
} from './conversation-record.js';
import { isConditionalCheckFailure } from '../aws/dynamodb.js';
import { CONVERSATIONS_TABLE } from './conversation-table-schema.js';
import { s3ObjectReader } from '../ingest/event-body.js';
import { isDynamoDbStorable } from './dynamodb-storable.js';
import { StorageError } from '../errors.js';
import { sha256Hex } from '../hash.js';

export type { ConversationRecord } from './conversation-record.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/**
 * Item size we allow before offloading. DynamoDB's hard limit is 400 KB; the estimate is already an upper bound,
 * and the margin leaves room for the pointer attributes the next events add.
 */
export const ITEM_SIZE_BUDGET_BYTES = 300 * 1024;

/** How often a write is retried when another writer changed the record in between. */
export const DEFAULT_MAX_WRITE_ATTEMPTS = 25;

/** Default time range of `listConversations` without `since`: the last 30 days. */
export const DEFAULT_LIST_LOOKBACK_SECS = 30 * 24 * 3600;

/** Day buckets queried ahead while listing without an agent. */
const DAY_PREFETCH = 4;

/** The record cannot fit in one item even with its large sections in S3 (too large, or unstorable outside them). */
export class ConversationTooLargeError extends Error {
  override readonly name = 'ConversationTooLargeError';
}

/** Too many concurrent writers kept changing the record; the event is retried by the queue. */
export class ConcurrentUpdateError extends Error {
  override readonly name = 'ConcurrentUpdateError';
}

export interface ConversationStorageOptions {
  readonly documentClient: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly tableName: string;
  /** The conversation bucket (`transcripts/`, `audio/`, `events/`). */
  readonly bucketName: string;
}

export interface ConversationStoreOptions extends ConversationStorageOptions {
  /** Clock for `updated_at`. @default () => new Date() */
  readonly now?: () => Date;
  /** @default DEFAULT_MAX_WRITE_ATTEMPTS */
  readonly maxWriteAttempts?: number;
  /** @default ITEM_SIZE_BUDGET_BYTES */
  readonly itemBudgetBytes?: number;
}

export type ApplyEventOutcome =
  | { readonly kind: 'duplicate'; readonly conversationId: string }
  | {
      readonly kind: 'created' | 'merged';
      readonly conversationId: string;
      readonly recordVersion: number;
      /** False when the event was older than the stored section (only its pointer was added). */
      readonly sectionUpdated: boolean;
      /** This write moved the transcript to S3. */
      readonly transcriptOffloaded: boolean;
      /** This write moved other large sections to S3 too. */
      readonly sectionsOffloaded: boolean;
      readonly attempts: number;
    };

export interface ConversationStore {
  /**
   * Merges one event into its conversation record. `audioBytes` (the decoded MP3 of a `post_call_audio` event) is
   * uploaded to the event's `audio.s3_key` only when it becomes the record's audio. Duplicates write nothing.
   */
  applyEvent(event: ConversationEvent, payload?: { readonly audioBytes?: Uint8Array }): Promise<ApplyEventOutcome>;
}

/** The consumer's write side. */
export function createConversationStore(options: ConversationStoreOptions): ConversationStore {
  const { documentClient, tableName } = options;
  const objects = conversationObjects(options);
  const now = options.now ?? (() => new Date());
  const maxAttempts = options.maxWriteAttempts ?? DEFAULT_MAX_WRITE_ATTEMPTS;
  const budget = options.itemBudgetBytes ?? ITEM_SIZE_BUDGET_BYTES;

  /**
   * Moves to S3 what DynamoDB would refuse: sections it cannot hold (nested beyond 32 levels, numbers out of its
   * range, `__proto__` keys), then, while the item is over the size budget, the transcript and the other large
   * sections. The first check goes first because sizing a value recurses into it.
   */
  async function fitItem(record: ConversationRecord): Promise<{ item: ConversationRecord; transcriptOffloaded: boolean; sectionsOffloaded: boolean }> {
    const item: ConversationRecord = { ...record };
    let transcriptOffloaded = false;
    let sectionsOffloaded = false;
    const offloadTranscript = async (transcript: JsonValue) => {
      const json = JSON.stringify(transcript);
      const key = transcriptObjectKey(item.conversation_id, item.transcription_body_sha256 ?? sha256Hex(json));
      await objects.putGzipJson(key, json);
      delete item.transcript;
      item.transcript_location = 's3';
      item.transcript_s3_key = key;
      transcriptOffloaded = true;
    };
    const offloadSections = async () => {
      const sections: Partial<Record<OffloadableAttribute, unknown>> = {};
      for (const attribute of OFFLOADABLE_ATTRIBUTES) {
        if (item[attribute] === undefined) continue;
        sections[attribute] = item[attribute];
        delete item[attribute];
      }
      const names = Object.keys(sections) as OffloadableAttribute[];
      if (names.length === 0) return;
      const json = JSON.stringify(sections);
      const key = offloadedSectionsObjectKey(item.conversation_id, sha256Hex(json));
      await objects.putGzipJson(key, json);
      item.offloaded_s3_key = key;
      item.offloaded_attributes = names;
      sectionsOffloaded = true;
    };

    if (item.transcript !== undefined && !isDynamoDbStorable(item.transcript)) await offloadTranscript(item.transcript);
    if (OFFLOADABLE_ATTRIBUTES.some((attribute) => !isDynamoDbStorable(item[attribute]))) await offloadSections();
    // The transcript and the offloadable sections were just checked; the rest are the record's own attributes.
    const checked = new Set<string>(['transcript', ...OFFLOADABLE_ATTRIBUTES]);
    const unstorable = Object.entries(item).find(([name, value]) => !checked.has(name) && !isDynamoDbStorable(value));
    if (unstorable !== undefined) throw new ConversationTooLargeError(`conversation ${item.conversation_id}: attribute ${unstorable[0]} holds what DynamoDB cannot store`);
    if (item.transcript !== undefined && estimateItemBytes(item) > budget) await offloadTranscript(item.transcript);
    if (!sectionsOffloaded && estimateItemBytes(item) > budget) await offloadSections();
    const size = estimateItemBytes(item);
    if (size > budget) {
      throw new ConversationTooLargeError(`conversation ${item.conversation_id}: item is ~${size} bytes with every large section in S3 (budget ${budget})`);
    }
    return { item, transcriptOffloaded, sectionsOffloaded };
  }

  async function readForMerge(conversationId: string): Promise<ConversationRecord | undefined> {
    const { Item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: { [CONVERSATIONS_TABLE.partitionKey]: conversationId }, ConsistentRead: true }));
    return Item === undefined ? undefined : (fromStoredValue(Item) as ConversationRecord);
  }

  return {
    async applyEvent(event, payload = {}) {
      const conversationId = event.meta.conversationId;
      let audioUploaded = false;
      for (let attempt = 1; ; attempt++) {
        const stored = await readForMerge(conversationId);
        // Cheap duplicate check before fetching anything from S3.
        if (stored?.events.some((pointer) => pointer.body_sha256 === event.meta.bodySha256)) return { kind: 'duplicate', conversationId };
        const current = stored === undefined ? undefined : await objects.restoreSections(stored);
        const merged = mergeConversationEvent(current, event, now().toISOString());
        if (merged.kind === 'duplicate') return { kind: 'duplicate', conversationId };

        if (event.kind === 'audio' && merged.sectionUpdated && !audioUploaded) {
          if (payload.audioBytes === undefined) throw new Error('post_call_audio event without its audio bytes');
          await objects.put(event.audio.s3_key, payload.audioBytes, event.audio.content_type);
          audioUploaded = true;
        }
        const { item, transcriptOffloaded, sectionsOffloaded } = await fitItem(merged.record);
        try {
          await documentClient.send(
            new PutCommand({
              TableName: tableName,
              Item: toStorableValue(item) as Record<string, unknown>,
              ...versionCondition(current?.record_version, current !== undefined),
            }),
          );
        } catch (error) {
          if (!isConditionalCheckFailure(error)) throw error;
          if (attempt >= maxAttempts) {
            throw new ConcurrentUpdateError(`conversation ${conversationId}: record changed on each of ${attempt} attempts`, { cause: error });
          }
          await sleep(Math.random() * Math.min(1000, 10 * 2 ** attempt));
          continue;
        }
        return {
          kind: merged.kind,
          conversationId,
          recordVersion: item.record_version,
          sectionUpdated: merged.sectionUpdated,
          transcriptOffloaded,
          sectionsOffloaded,
          attempts: attempt,
        };
      }
    },
  };
}

function versionCondition(expectedVersion: number | undefined, exists: boolean): Pick<ConstructorParameters<typeof PutCommand>[0], 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> {
  if (!exists) return { ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: { '#id': CONVERSATIONS_TABLE.partitionKey } };
  if (expectedVersion === undefined) return { ConditionExpression: 'attribute_exists(#id) AND attribute_not_exists(#version)', ExpressionAttributeNames: { '#id': CONVERSATIONS_TABLE.partitionKey, '#version': 'record_version' } };
  return { ConditionExpression: '#version = :expected', ExpressionAttributeNames: { '#version': 'record_version' }, ExpressionAttributeValues: { ':expected': expectedVersion } };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------------------------
// Read API

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

  async function present(item: Record<string, unknown>, includeTranscript: boolean): Promise<ConversationRecord> {
    const record = fromStoredValue(item) as ConversationRecord;
    if (record.offloaded_s3_key !== undefined) Object.assign(record, await objects.readSections(record.offloaded_s3_key));
    if (!includeTranscript) delete record.transcript;
    else if (record.transcript_location === 's3' && record.transcript_s3_key !== undefined) record.transcript = await objects.readGzipJson(record.transcript_s3_key);
    return record;
  }

  function query(input: Omit<QueryCommandInput, 'TableName'>): Promise<QueryCommandOutput> {
    return documentClient.send(new QueryCommand({ TableName: tableName, ...input }));
  }

  return {
    async getConversation(conversationId, { includeTranscript = true } = {}) {
      const { Item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: { [CONVERSATIONS_TABLE.partitionKey]: conversationId }, ConsistentRead: true }));
      return Item === undefined ? undefined : present(Item, includeTranscript);
    },

    async *listConversations(listOptions = {}) {
      const until = listOptions.until ?? Math.floor(Date.now() / 1000);
      const since = listOptions.since ?? until - DEFAULT_LIST_LOOKBACK_SECS;
      let remaining = listOptions.limit ?? Number.POSITIVE_INFINITY;
      if (since > until || remaining <= 0) return;
      const newestFirst = (listOptions.order ?? 'newest_first') === 'newest_first';
      const statusFilter =
        listOptions.status === undefined
          ? undefined
          : { expression: '#status = :status', names: { '#status': 'status' }, values: { ':status': listOptions.status } };
      const queryFor =
        (index: { indexName: string; partitionKey: string; sortKey: string }, partition: string): PartitionQuery =>
        (exclusiveStartKey) =>
          query({
            IndexName: index.indexName,
            KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :since AND :until',
            FilterExpression: statusFilter?.expression,
            ExpressionAttributeNames: { '#pk': index.partitionKey, '#sk': index.sortKey, ...statusFilter?.names },
            ExpressionAttributeValues: { ':pk': partition, ':since': since, ':until': until, ...statusFilter?.values },
            ScanIndexForward: !newestFirst,
            ExclusiveStartKey: exclusiveStartKey,
          });

      const partitions =
        listOptions.agentId !== undefined
          ? [queryFor(CONVERSATIONS_TABLE.byAgentIndex, listOptions.agentId)]
          : daysBetween(since, until, newestFirst).map((day) => queryFor(CONVERSATIONS_TABLE.byDayIndex, day));

      for await (const item of queryPartitions(partitions)) {
        yield await present(item, listOptions.includeTranscript ?? false);
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

type PartitionQuery = (exclusiveStartKey?: Record<string, unknown>) => Promise<QueryCommandOutput>;

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

// ---------------------------------------------------------------------------------------------------------------
// S3 objects and number handling shared by both sides

function conversationObjects({ s3, bucketName }: ConversationStorageOptions) {
  const getObject = s3ObjectReader(s3);
  const objects = {
    async put(key: string, body: Uint8Array, contentType: string, contentEncoding?: string): Promise<void> {
      await s3.send(new PutObjectCommand({ Bucket: bucketName, Key: key, Body: body, ContentType: contentType, ContentEncoding: contentEncoding }));
    },
    async putGzipJson(key: string, json: string): Promise<void> {
      await objects.put(key, new Uint8Array(await gzipAsync(Buffer.from(json, 'utf8'))), 'application/json', 'gzip');
    },
    get(key: string): Promise<Uint8Array> {
      return getObject(bucketName, key);
    },
    async readGzipJson(key: string): Promise<JsonValue> {
      const bytes = await gunzipAsync(await objects.get(key));
      return JSON.parse(bytes.toString('utf8')) as JsonValue;
    },
    async readSections(key: string): Promise<Partial<Pick<ConversationRecord, OffloadableAttribute>>> {
      const sections = await objects.readGzipJson(key);
      if (typeof sections !== 'object' || sections === null || Array.isArray(sections)) throw new StorageError(`offloaded sections ${key} are not an object`);
      const restored: JsonObject = {};
      for (const attribute of OFFLOADABLE_ATTRIBUTES) {
        const value = sections[attribute];
        if (value !== undefined) restored[attribute] = value;
      }
      return restored as Partial<Pick<ConversationRecord, OffloadableAttribute>>;
    },
    /** The record with its offloaded sections back in place (the next write decides again what to offload). */
    async restoreSections(record: ConversationRecord): Promise<ConversationRecord> {
      if (record.offloaded_s3_key === undefined) return record;
      const restored: ConversationRecord = { ...record, ...(await objects.readSections(record.offloaded_s3_key)) };
      delete restored.offloaded_s3_key;
      delete restored.offloaded_attributes;
      return restored;
    },
  };
  return objects;
}

/**
 * Numbers beyond ±2^53 (always integers) are written as exact decimal strings: the document client refuses them
 * as plain numbers, and the decimal form (no exponent) reads back as a BigInt that `fromStoredValue` turns into
 * the same double JSON.parse gave.
 */
function toStorableValue(value: unknown): unknown {
  if (typeof value === 'number') return Math.abs(value) <= Number.MAX_SAFE_INTEGER ? value : NumberValue.from(plainDecimal(value));
  if (Array.isArray(value)) return value.map(toStorableValue);
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && !(value instanceof NumberValue)) {
    return Object.fromEntries(Object.entries(value).map(([key, element]) => [key, toStorableValue(element)]));
  }
  return value;
}

function fromStoredValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof NumberValue) return Number(value.toString());
  if (Array.isArray(value)) return value.map(fromStoredValue);
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && !(value instanceof Set)) {
    return Object.fromEntries(Object.entries(value).map(([key, element]) => [key, fromStoredValue(element)]));
  }
  return value;
}

/** A large integer's shortest round-trip form without an exponent: 1.5e+25 → "15000000000000000000000000". */
export function plainDecimal(value: number): string {
  const [mantissa = '', exponentText] = String(value).split('e');
  if (exponentText === undefined) return mantissa;
  const negative = mantissa.startsWith('-');
  const [integerPart = '', fractionPart = ''] = mantissa.replace('-', '').split('.');
  const zeros = Number(exponentText) - fractionPart.length;
  if (zeros < 0) return String(value);
  return `${negative ? '-' : ''}${integerPart}${fractionPart}${'0'.repeat(zeros)}`;
}
