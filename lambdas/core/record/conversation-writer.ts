/**
 * The consumer's write path for conversation records: optimistic concurrency, and offloading of what does not fit
 * in an item.
 *
 * Writes are single-item conditional puts (read → pure merge → put if `record_version` is unchanged, else retry),
 * because dynalite has no transactions; DynamoDB's 400 KB item limit is met by moving the transcript (and, if
 * still needed, the other large sections) to gzip JSON objects in S3 — never by truncating.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  estimateItemBytes,
  mergeConversationEvent,
  OFFLOADABLE_ATTRIBUTES,
  offloadedSectionsObjectKey,
  transcriptObjectKey,
  type ConversationEvent,
  type ConversationRecord,
  type JsonValue,
  type OffloadableAttribute,
} from './conversation-record.js';
import { conversationObjects, type ConversationObjects, type ConversationStorageOptions } from './conversation-objects.js';
import { CONVERSATIONS_TABLE } from './conversation-table-schema.js';
import { isDynamoDbStorable } from '../storage-limits.js';
import { fromStoredValue, toStorableValue } from './stored-value-codec.js';
import { isConditionalCheckFailure } from '../aws/dynamodb.js';
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
  async function attemptWrite(event: ConversationEvent, audio: AudioWrites): Promise<ApplyEventOutcome | undefined> {
    const conversationId = event.meta.conversationId;
    const stored = await readForMerge(conversationId);
    audio.known(stored);
    // Cheap duplicate check before fetching anything from S3.
    if (stored?.events.some((pointer) => pointer.body_sha256 === event.meta.bodySha256)) return { kind: 'duplicate', conversationId };
    const current = stored === undefined ? undefined : await objects.restoreSections(stored);
    const merged = mergeConversationEvent(current, event, now().toISOString());
    if (merged.kind === 'duplicate') return { kind: 'duplicate', conversationId };
    if (event.kind === 'audio' && merged.sectionUpdated) await audio.write(event.audio.s3_key);
    const { item, transcriptOffloaded, sectionsOffloaded } = await fitItem(merged.record, objects, budget);
    // A put that throws may still have been applied (a timeout): until it answers, the record is unknown.
    audio.unknown();
    try {
      await documentClient.send(new PutCommand({ TableName: tableName, Item: toStorableValue(item) as Record<string, unknown>, ...versionCondition(current?.record_version, current !== undefined) }));
    } catch (error) {
      if (isConditionalCheckFailure(error)) return undefined;
      throw error;
    }
    audio.known(item);
    if (event.kind === 'audio' && merged.sectionUpdated) await audio.replaced(current?.audio?.s3_key);
    return { kind: merged.kind, conversationId, recordVersion: item.record_version, sectionUpdated: merged.sectionUpdated, transcriptOffloaded, sectionsOffloaded, attempts: 0 };
  }

  return {
    async applyEvent(event, payload = {}) {
      const conversationId = event.meta.conversationId;
      const audio = audioWrites(objects, payload.writeAudio, () => readForMerge(conversationId));
      try {
        for (let attempt = 1; ; attempt++) {
          const outcome = await attemptWrite(event, audio);
          if (outcome !== undefined) return outcome.kind === 'duplicate' ? outcome : { ...outcome, attempts: attempt };
          if (attempt >= maxAttempts) throw new ConcurrentUpdateError(`conversation ${conversationId}: record changed on each of ${attempt} attempts`);
          await sleep(Math.random() * Math.min(1000, 10 * 2 ** attempt));
        }
      } finally {
        await audio.settle();
      }
    },
  };
}

/**
 * The recording objects one applyEvent writes and retires. An audio object's key is named by its event's body hash,
 * so a key belongs to one event, and once that event is listed in the record (any later delivery is a duplicate)
 * and is no longer the audio section, nothing will point at the key again: deleting it is safe.
 */
interface AudioWrites {
  /** Writes the event's recording to `key`, once per applyEvent. */
  write(key: string): Promise<void>;
  /** The record as just read or written (undefined: there is none). */
  known(record: ConversationRecord | undefined): void;
  /** A write to the record is under way: what it holds is not known until it is read again. */
  unknown(): void;
  /** After a successful put: the recording the new one replaced, to delete. */
  replaced(key: string | undefined): Promise<void>;
  /** At the end, whatever happened: deletes what this call wrote if the record does not point at it. */
  settle(): Promise<void>;
}

function audioWrites(objects: ConversationObjects, writeAudio: WriteAudio | undefined, reread: () => Promise<ConversationRecord | undefined>): AudioWrites {
  let written: string | undefined;
  let lastSeen: { readonly record: ConversationRecord | undefined } | undefined;
  const deleteQuietly = (key: string) => objects.delete(key).catch(() => undefined);
  return {
    async write(key) {
      if (written !== undefined) return;
      if (writeAudio === undefined) throw new Error('post_call_audio event without a way to write its recording');
      // A failed write leaves nothing (an aborted multipart upload, a copy or put that did not happen).
      await writeAudio(key);
      written = key;
    },
    known(record) {
      lastSeen = { record };
    },
    unknown() {
      lastSeen = undefined;
    },
    async replaced(key) {
      if (key !== undefined && key !== written) await deleteQuietly(key);
    },
    async settle() {
      if (written === undefined) return;
      // After a failure the put may have happened all the same (a timeout): read again, and keep the object unless
      // the record is known not to point at it (a read that fails too keeps it: a stray object beats a dangling key).
      const key = written;
      const pointsAtIt = (record: ConversationRecord | undefined) => record?.audio?.s3_key === key;
      const kept = lastSeen === undefined ? await reread().then(pointsAtIt, () => true) : pointsAtIt(lastSeen.record);
      if (!kept) await deleteQuietly(key);
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
 * Moves to S3 what DynamoDB would refuse: sections it cannot hold (nested beyond 32 levels, numbers out of its
 * range, `__proto__` keys), then, while the item is over the size budget, the transcript and the other large
 * sections. The first check goes first because sizing a value recurses into it.
 */
async function fitItem(record: ConversationRecord, objects: ConversationObjects, budget: number): Promise<FittedItem> {
  const item: ConversationRecord = { ...record };
  let transcriptOffloaded = false;
  let sectionsOffloaded = false;
  if (item.transcript !== undefined && !isDynamoDbStorable(item.transcript)) {
    await offloadTranscript(item, item.transcript, objects);
    transcriptOffloaded = true;
  }
  if (OFFLOADABLE_ATTRIBUTES.some((attribute) => !isDynamoDbStorable(item[attribute]))) sectionsOffloaded = await offloadSections(item, objects);
  // The transcript and the offloadable sections were just checked; the rest are the record's own attributes.
  const checked = new Set<string>(['transcript', ...OFFLOADABLE_ATTRIBUTES]);
  const unstorable = Object.entries(item).find(([name, value]) => !checked.has(name) && !isDynamoDbStorable(value));
  if (unstorable !== undefined) throw new ConversationTooLargeError(`conversation ${item.conversation_id}: attribute ${unstorable[0]} holds what DynamoDB cannot store`);
  if (item.transcript !== undefined && estimateItemBytes(item) > budget) {
    await offloadTranscript(item, item.transcript, objects);
    transcriptOffloaded = true;
  }
  if (!sectionsOffloaded && estimateItemBytes(item) > budget) sectionsOffloaded = await offloadSections(item, objects);
  const size = estimateItemBytes(item);
  if (size > budget) {
    throw new ConversationTooLargeError(`conversation ${item.conversation_id}: item is ~${size} bytes with every large section in S3 (budget ${budget})`);
  }
  return { item, transcriptOffloaded, sectionsOffloaded };
}

/** Writes the transcript to its object (named by the transcription's body hash) and leaves a pointer in `item`. */
async function offloadTranscript(item: ConversationRecord, transcript: JsonValue, objects: ConversationObjects): Promise<void> {
  const json = JSON.stringify(transcript);
  const key = transcriptObjectKey(item.conversation_id, item.transcription_body_sha256 ?? sha256Hex(json));
  await objects.putGzipJson(key, json);
  delete item.transcript;
  item.transcript_location = 's3';
  item.transcript_s3_key = key;
}

/** Moves every offloadable section of `item` to one object named by its content; false when it has none. */
async function offloadSections(item: ConversationRecord, objects: ConversationObjects): Promise<boolean> {
  const sections: Partial<Record<OffloadableAttribute, unknown>> = {};
  for (const attribute of OFFLOADABLE_ATTRIBUTES) {
    if (item[attribute] === undefined) continue;
    sections[attribute] = item[attribute];
    delete item[attribute];
  }
  const names = Object.keys(sections) as OffloadableAttribute[];
  if (names.length === 0) return false;
  const json = JSON.stringify(sections);
  const key = offloadedSectionsObjectKey(item.conversation_id, sha256Hex(json));
  await objects.putGzipJson(key, json);
  item.offloaded_s3_key = key;
  item.offloaded_attributes = names;
  return true;
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
