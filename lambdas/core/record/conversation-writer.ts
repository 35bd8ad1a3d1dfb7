/**
 * The consumer's write path for conversation records: optimistic concurrency, and offloading of what does not fit
 * in an item.
 *
 * Writes are single-item conditional puts (read → pure merge → put if `record_version` is unchanged, else retry),
 * because dynalite has no transactions; DynamoDB's 400 KB item limit is met by moving the transcript (and, if
 * still needed, the other large sections) to gzip JSON objects in S3 — never by truncating.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { randomBytes } from 'node:crypto';
import {
  AUDIO_EVENT_DATA_PART,
  contentHashOfSectionsKey,
  estimateItemBytes,
  mergeConversationEvent,
  objectKeysOf,
  OFFLOADABLE_ATTRIBUTES,
  OFFLOADABLE_PARTS,
  offloadedSectionsObjectKey,
  transcriptObjectKey,
  type ConversationEvent,
  type ConversationRecord,
  type JsonValue,
  type OffloadablePart,
} from './conversation-record.js';
import { conversationObjects, type ConversationObjects, type ConversationStorageOptions, type OffloadedSections } from './conversation-objects.js';
import { CONVERSATIONS_TABLE } from './conversation-table-schema.js';
import { isDynamoDbStorable } from '../storage-limits.js';
import { fromStoredValue, toStorableValue } from './stored-value-codec.js';
import { isConditionalCheckFailure } from '../aws/dynamodb.js';
import { stringifyExact } from '../exact-json.js';
import { sha256Hex } from '../hash.js';

/**
 * Item size we allow before offloading. DynamoDB's hard limit is 400 KB; the estimate is already an upper bound,
 * and the margin leaves room for the pointer attributes the next events add.
 */
export const ITEM_SIZE_BUDGET_BYTES = 300 * 1024;

/** How often a write is retried when another writer changed the record in between. */
export const DEFAULT_MAX_WRITE_ATTEMPTS = 25;

/** The record cannot fit in one item even with its large sections in S3 (too large, or unstorable outside them). */
export class ConversationTooLargeError extends Error {
  override readonly name = 'ConversationTooLargeError';
}

/** Too many concurrent writers kept changing the record; the event is retried by the queue. */
export class ConcurrentUpdateError extends Error {
  override readonly name = 'ConcurrentUpdateError';
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

/** How a recording reaches its object: written by the caller to the key it is given (streamed, copied, or put). */
export type WriteAudio = (key: string) => Promise<void>;

export interface ConversationStore {
  /**
   * Merges one event into its conversation record. A `post_call_audio` event's recording is written (`writeAudio`,
   * to the event's `audio.s3_key`) only when the event becomes the record's audio, before the record points at it;
   * a recording the record stops pointing at (a newer one replaced it, or this event lost a race) is deleted, so no
   * audio object is left that no record refers to. Duplicates write nothing.
   */
  applyEvent(event: ConversationEvent, payload?: { readonly writeAudio?: WriteAudio }): Promise<ApplyEventOutcome>;
}

/** The consumer's write side. */
export function createConversationStore(options: ConversationStoreOptions): ConversationStore {
  const { documentClient, tableName } = options;
  const objects = conversationObjects(options);
  const now = options.now ?? (() => new Date());
  const maxAttempts = options.maxWriteAttempts ?? DEFAULT_MAX_WRITE_ATTEMPTS;
  const budget = options.itemBudgetBytes ?? ITEM_SIZE_BUDGET_BYTES;

  async function readForMerge(conversationId: string): Promise<ConversationRecord | undefined> {
    const { Item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: { [CONVERSATIONS_TABLE.partitionKey]: conversationId }, ConsistentRead: true }));
    return Item === undefined ? undefined : (fromStoredValue(Item) as ConversationRecord);
  }

  /** One read → merge → conditional put; `undefined` when another writer changed the record in between. */
  async function attemptWrite(event: ConversationEvent, written: RecordObjectWrites): Promise<ApplyEventOutcome | undefined> {
    const conversationId = event.meta.conversationId;
    const stored = await readForMerge(conversationId);
    written.known(stored);
    // Cheap duplicate check before fetching anything from S3.
    if (stored?.events.some((pointer) => pointer.body_sha256 === event.meta.bodySha256)) return { kind: 'duplicate', conversationId };
    const current = stored === undefined ? undefined : await objects.restoreSections(stored);
    const merged = mergeConversationEvent(current, event, now().toISOString());
    if (merged.kind === 'duplicate') return { kind: 'duplicate', conversationId };
    if (event.kind === 'audio' && merged.sectionUpdated) await written.audio(event.audio.s3_key);
    const { item, transcriptOffloaded, sectionsOffloaded } = await fitItem(merged.record, stored, objects, budget, written);
    // A put that throws may still have been applied (a timeout): until it answers, the record is unknown.
    written.unknown();
    try {
      await documentClient.send(new PutCommand({ TableName: tableName, Item: toStorableValue(item) as Record<string, unknown>, ...versionCondition(current?.record_version, current !== undefined) }));
    } catch (error) {
      if (isConditionalCheckFailure(error)) return undefined;
      throw error;
    }
    written.known(item);
    await written.replaced(stored, item);
    return { kind: merged.kind, conversationId, recordVersion: item.record_version, sectionUpdated: merged.sectionUpdated, transcriptOffloaded, sectionsOffloaded, attempts: 0 };
  }

  return {
    async applyEvent(event, payload = {}) {
      const conversationId = event.meta.conversationId;
      const written = recordObjectWrites(objects, payload.writeAudio, () => readForMerge(conversationId));
      try {
        for (let attempt = 1; ; attempt++) {
          const outcome = await attemptWrite(event, written);
          if (outcome !== undefined) return outcome.kind === 'duplicate' ? outcome : { ...outcome, attempts: attempt };
          if (attempt >= maxAttempts) throw new ConcurrentUpdateError(`conversation ${conversationId}: record changed on each of ${attempt} attempts`);
          await sleep(Math.random() * Math.min(1000, 10 * 2 ** attempt));
        }
      } finally {
        await written.settle();
      }
    },
  };
}

/**
 * The objects one applyEvent writes (a recording, offloaded transcripts and parts) and retires. Each key belongs to
 * one writer: a recording's is named by its event's body hash (and that event, once listed in the record, is never
 * merged again), an offloaded object's carries a random token. So an object no record points at, once the record is
 * known, is nobody's: deleting it is safe, and no object is left that no record refers to.
 */
interface RecordObjectWrites {
  /** Writes the event's recording to `key`, once per applyEvent. */
  audio(key: string): Promise<void>;
  /** Writes an offloaded part (exact JSON, gzip) to `key`. */
  json(key: string, value: unknown): Promise<void>;
  /** The record as just read or written (undefined: there is none). */
  known(record: ConversationRecord | undefined): void;
  /** A write to the record is under way: what it holds is not known until it is read again. */
  unknown(): void;
  /** After a successful put: deletes the objects the previous item pointed at and the new one does not. */
  replaced(previous: ConversationRecord | undefined, next: ConversationRecord): Promise<void>;
  /** At the end, whatever happened: deletes what this call wrote if the record does not point at it. */
  settle(): Promise<void>;
}

function recordObjectWrites(objects: ConversationObjects, writeAudio: WriteAudio | undefined, reread: () => Promise<ConversationRecord | undefined>): RecordObjectWrites {
  const written = new Set<string>();
  let audioKey: string | undefined;
  let lastSeen: { readonly record: ConversationRecord | undefined } | undefined;
  const deleteQuietly = (key: string) => objects.delete(key).catch(() => undefined);
  return {
    async audio(key) {
      if (audioKey !== undefined) return;
      if (writeAudio === undefined) throw new Error('post_call_audio event without a way to write its recording');
      // A failed write leaves nothing (an aborted multipart upload, a copy or put that did not happen).
      await writeAudio(key);
      audioKey = key;
      written.add(key);
    },
    async json(key, value) {
      written.add(key);
      await objects.putGzipJson(key, value);
    },
    known(record) {
      lastSeen = { record };
    },
    unknown() {
      lastSeen = undefined;
    },
    async replaced(previous, next) {
      const kept = new Set(objectKeysOf(next));
      await Promise.all(objectKeysOf(previous).filter((key) => !kept.has(key)).map(deleteQuietly));
    },
    async settle() {
      if (written.size === 0) return;
      // After a failure the put may have happened all the same (a timeout): read again, and keep the objects unless
      // the record is known not to point at them (a read that fails too keeps them: a stray object beats a dangling key).
      const record = lastSeen === undefined ? await reread().then((read) => ({ read }), () => undefined) : { read: lastSeen.record };
      if (record === undefined) return;
      const kept = new Set(objectKeysOf(record.read));
      await Promise.all([...written].filter((key) => !kept.has(key)).map(deleteQuietly));
    },
  };
}

/** An item ready to put, and what this write moved to S3 to get there. */
interface FittedItem {
  readonly item: ConversationRecord;
  readonly transcriptOffloaded: boolean;
  readonly sectionsOffloaded: boolean;
}

/**
 * Moves to S3 what DynamoDB would refuse, never truncating: first whatever it cannot hold (nested beyond 32 levels,
 * numbers out of its range or precision, empty or `__proto__` keys), then, while the item is over the size budget,
 * the transcript and then the largest offloadable part, one by one. The parts go to one object together. `stored` is
 * the item as read, whose offloaded object is kept when the parts did not change.
 */
async function fitItem(record: ConversationRecord, stored: ConversationRecord | undefined, objects: ConversationObjects, budget: number, written: RecordObjectWrites): Promise<FittedItem> {
  const item: ConversationRecord = { ...record };
  const parts: OffloadedSections = {};
  let transcriptOffloaded = false;
  if (item.transcript !== undefined && !isDynamoDbStorable(item.transcript)) transcriptOffloaded = await offloadTranscript(item, item.transcript, written);
  for (const part of OFFLOADABLE_PARTS) {
    const value = partValue(item, part);
    if (value !== undefined && !isDynamoDbStorable(value)) takePart(item, part, parts);
  }
  // The transcript and the offloadable attributes were just checked; the rest (the audio pointer too) are the record's own.
  const checked = new Set<string>(['transcript', ...OFFLOADABLE_ATTRIBUTES]);
  const unstorable = Object.entries(item).find(([name, value]) => !checked.has(name) && !isDynamoDbStorable(value));
  if (unstorable !== undefined) throw new ConversationTooLargeError(`conversation ${item.conversation_id}: attribute ${unstorable[0]} holds what DynamoDB cannot store`);
  if (item.transcript !== undefined && estimateItemBytes(item) > budget) transcriptOffloaded = await offloadTranscript(item, item.transcript, written);
  while (estimateItemBytes(item) > budget) {
    const largest = largestPart(item);
    if (largest === undefined) break;
    takePart(item, largest, parts);
  }
  const sectionsOffloaded = await storeParts(item, parts, stored, written);
  const size = estimateItemBytes(item);
  if (size > budget) {
    throw new ConversationTooLargeError(`conversation ${item.conversation_id}: item is ~${size} bytes with every large section in S3 (budget ${budget})`);
  }
  return { item, transcriptOffloaded, sectionsOffloaded };
}

function partValue(item: ConversationRecord, part: OffloadablePart): unknown {
  return part === AUDIO_EVENT_DATA_PART ? item.audio?.event_data : item[part];
}

/** Moves one part from the item into `parts`. */
function takePart(item: ConversationRecord, part: OffloadablePart, parts: OffloadedSections): void {
  if (part === AUDIO_EVENT_DATA_PART) {
    if (item.audio === undefined) return;
    const { event_data: eventData, ...pointer } = item.audio;
    parts[part] = eventData;
    item.audio = pointer;
    return;
  }
  parts[part] = item[part];
  delete item[part];
}

/** The offloadable part still in the item that takes the most room, if any. */
function largestPart(item: ConversationRecord): OffloadablePart | undefined {
  let largest: { part: OffloadablePart; bytes: number } | undefined;
  for (const part of OFFLOADABLE_PARTS) {
    const value = partValue(item, part);
    if (value === undefined) continue;
    const bytes = estimateItemBytes({ [part]: value });
    if (largest === undefined || bytes > largest.bytes) largest = { part, bytes };
  }
  return largest?.part;
}

/** Writes the transcript to an object of this write's own and leaves a pointer in `item`. */
async function offloadTranscript(item: ConversationRecord, transcript: JsonValue, written: RecordObjectWrites): Promise<true> {
  const key = transcriptObjectKey(item.conversation_id, item.transcription_body_sha256 ?? sha256Hex(stringifyExact(transcript)), objectToken());
  await written.json(key, transcript);
  delete item.transcript;
  item.transcript_location = 's3';
  item.transcript_s3_key = key;
  return true;
}

/**
 * Stores the offloaded parts in one object and points the item at it; false when there are none. The object `stored`
 * points at is kept when it holds the same parts (its key names their hash), so writes that change none of them
 * rewrite nothing.
 */
async function storeParts(item: ConversationRecord, parts: OffloadedSections, stored: ConversationRecord | undefined, written: RecordObjectWrites): Promise<boolean> {
  const names = OFFLOADABLE_PARTS.filter((part) => Object.hasOwn(parts, part));
  if (names.length === 0) return false;
  const contentSha256 = sha256Hex(stringifyExact(parts));
  const unchanged = contentHashOfSectionsKey(stored?.offloaded_s3_key) === contentSha256 ? stored?.offloaded_s3_key : undefined;
  const key = unchanged ?? offloadedSectionsObjectKey(item.conversation_id, contentSha256, objectToken());
  if (unchanged === undefined) await written.json(key, parts);
  item.offloaded_s3_key = key;
  item.offloaded_attributes = names;
  return true;
}

/** 12 random hex digits: what keeps one write's offloaded objects apart from another's. */
function objectToken(): string {
  return randomBytes(6).toString('hex');
}

/** The put's condition: the record is still at the version the merge started from (or still absent). */
function versionCondition(expectedVersion: number | undefined, exists: boolean): Pick<ConstructorParameters<typeof PutCommand>[0], 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> {
  if (!exists) return { ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: { '#id': CONVERSATIONS_TABLE.partitionKey } };
  if (expectedVersion === undefined) return { ConditionExpression: 'attribute_exists(#id) AND attribute_not_exists(#version)', ExpressionAttributeNames: { '#id': CONVERSATIONS_TABLE.partitionKey, '#version': 'record_version' } };
  return { ConditionExpression: '#version = :expected', ExpressionAttributeNames: { '#version': 'record_version' }, ExpressionAttributeValues: { ':expected': expectedVersion } };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
