/**
 * The conversation bucket as the writer and the reader both see it: recordings, and the gzip JSON objects that hold
 * what did not fit in a DynamoDB item (offloaded transcripts and sections).
 */
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { CopyObjectCommand, DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { streamedUploader, type StreamedObject } from '../aws/streamed-upload.js';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AUDIO_EVENT_DATA_PART, OFFLOADABLE_PARTS, type ConversationRecord, type JsonObject, type JsonValue, type OffloadablePart } from './conversation-record.js';
import { s3ObjectReader } from '../ingest/event-body.js';
import { StorageError } from '../errors.js';
import { parseExactJson, stringifyExact } from '../exact-json.js';
import { isContainer } from '../json-nesting.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Where conversation records live: the table and the bucket beside it. */
export interface ConversationStorageOptions {
  readonly documentClient: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly tableName: string;
  /** The conversation bucket (`transcripts/`, `audio/`, `events/`). */
  readonly bucketName: string;
}

/** Offloaded parts as stored: `{<part name>: value}` for the parts `offloaded_attributes` names. */
export type OffloadedSections = Partial<Record<OffloadablePart, unknown>>;

/** The record objects of one conversation bucket. */
export interface ConversationObjects {
  put(key: string, body: Uint8Array, contentType: string, contentEncoding?: string): Promise<void>;
  /** Streams `body` into `key` in bounded memory (multipart); returns its size and SHA-256. */
  upload(key: string, body: Readable, contentType: string): Promise<StreamedObject>;
  /** Copies another object of the bucket to `key`, server-side: no byte passes through this process. */
  copy(sourceKey: string, key: string, contentType: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Stores `value` as exact JSON (exact-json.ts), gzip-compressed, `application/json` with `Content-Encoding: gzip`. */
  putGzipJson(key: string, value: unknown): Promise<void>;
  get(key: string): Promise<Uint8Array>;
  readGzipJson(key: string): Promise<JsonValue>;
  /** The offloaded parts at `key`; throws StorageError when the object is not a JSON object. */
  readSections(key: string): Promise<OffloadedSections>;
  /**
   * The record with its offloaded parts back in place, the markers kept (what the read API returns). A record without
   * them is returned as it is.
   */
  withSections(record: ConversationRecord): Promise<ConversationRecord>;
  /** The record with its offloaded parts back in place and no markers (the next write decides again what to offload). */
  restoreSections(record: ConversationRecord): Promise<ConversationRecord>;
}

/** The record objects in `bucketName`. */
export function conversationObjects({ s3, bucketName }: Pick<ConversationStorageOptions, 's3' | 'bucketName'>): ConversationObjects {
  const getObject = s3ObjectReader(s3);
  const upload = streamedUploader(s3);
  const objects: ConversationObjects = {
    async put(key, body, contentType, contentEncoding) {
      await s3.send(new PutObjectCommand({ Bucket: bucketName, Key: key, Body: body, ContentType: contentType, ContentEncoding: contentEncoding }));
    },
    upload: (key, body, contentType) => upload({ bucket: bucketName, key, body, contentType }),
    async copy(sourceKey, key, contentType) {
      const source = `${bucketName}/${sourceKey.split('/').map(encodeURIComponent).join('/')}`;
      await s3.send(new CopyObjectCommand({ Bucket: bucketName, Key: key, CopySource: source, ContentType: contentType, MetadataDirective: 'REPLACE' }));
    },
    async delete(key) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucketName, Key: key }));
    },
    async putGzipJson(key, value) {
      await objects.put(key, new Uint8Array(await gzipAsync(Buffer.from(stringifyExact(value), 'utf8'))), 'application/json', 'gzip');
    },
    get(key) {
      return getObject(bucketName, key);
    },
    async readGzipJson(key) {
      const bytes = await gunzipAsync(await objects.get(key));
      return parseExactJson(bytes.toString('utf8')) as JsonValue;
    },
    async readSections(key) {
      const sections = await objects.readGzipJson(key);
      if (!isContainer(sections) || Array.isArray(sections)) throw new StorageError(`offloaded sections ${key} are not an object`);
      const restored: OffloadedSections = {};
      for (const part of OFFLOADABLE_PARTS) {
        const value = (sections as JsonObject)[part];
        if (value !== undefined) restored[part] = value;
      }
      return restored;
    },
    async withSections(record) {
      if (record.offloaded_s3_key === undefined) return record;
      return placeSections(record, await objects.readSections(record.offloaded_s3_key));
    },
    async restoreSections(record) {
      const restored = await objects.withSections(record);
      if (restored === record) return record;
      delete restored.offloaded_s3_key;
      delete restored.offloaded_attributes;
      return restored;
    },
  };
  return objects;
}

/** A copy of `record` with the offloaded parts put back where they came from. */
function placeSections(record: ConversationRecord, sections: OffloadedSections): ConversationRecord {
  const { [AUDIO_EVENT_DATA_PART]: audioEventData, ...attributes } = sections;
  const placed = { ...record, ...attributes } as ConversationRecord;
  if (audioEventData !== undefined && placed.audio !== undefined) placed.audio = { ...placed.audio, event_data: audioEventData as JsonObject };
  return placed;
}

/** A record as read from the table (or a stream image) made whole: offloaded sections back, the transcript read or left out. */
export async function restoreRecord(stored: ConversationRecord, includeTranscript: boolean, objects: Pick<ConversationObjects, 'withSections' | 'readGzipJson'>): Promise<ConversationRecord> {
  const record = { ...(await objects.withSections(stored)) };
  if (!includeTranscript) delete record.transcript;
  else if (record.transcript_location === 's3' && record.transcript_s3_key !== undefined) record.transcript = await objects.readGzipJson(record.transcript_s3_key);
  return record;
}
