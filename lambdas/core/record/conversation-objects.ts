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
import { OFFLOADABLE_ATTRIBUTES, type ConversationRecord, type JsonObject, type JsonValue, type OffloadableAttribute } from './conversation-record.js';
import { s3ObjectReader } from '../ingest/event-body.js';
import { StorageError } from '../errors.js';

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

/** Offloaded sections as stored: only the attributes that may be offloaded. */
export type OffloadedSections = Partial<Pick<ConversationRecord, OffloadableAttribute>>;

/** The record objects of one conversation bucket. */
export interface ConversationObjects {
  put(key: string, body: Uint8Array, contentType: string, contentEncoding?: string): Promise<void>;
  /** Streams `body` into `key` in bounded memory (multipart); returns its size and SHA-256. */
  upload(key: string, body: Readable, contentType: string): Promise<StreamedObject>;
  /** Copies another object of the bucket to `key`, server-side: no byte passes through this process. */
  copy(sourceKey: string, key: string, contentType: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Stores `json` gzip-compressed, as `application/json` with `Content-Encoding: gzip`. */
  putGzipJson(key: string, json: string): Promise<void>;
  get(key: string): Promise<Uint8Array>;
  readGzipJson(key: string): Promise<JsonValue>;
  /** The offloaded sections at `key`; throws StorageError when the object is not a JSON object. */
  readSections(key: string): Promise<OffloadedSections>;
  /** The record with its offloaded sections back in place (the next write decides again what to offload). */
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
    async putGzipJson(key, json) {
      await objects.put(key, new Uint8Array(await gzipAsync(Buffer.from(json, 'utf8'))), 'application/json', 'gzip');
    },
    get(key) {
      return getObject(bucketName, key);
    },
    async readGzipJson(key) {
      const bytes = await gunzipAsync(await objects.get(key));
      return JSON.parse(bytes.toString('utf8')) as JsonValue;
    },
    async readSections(key) {
      const sections = await objects.readGzipJson(key);
      if (typeof sections !== 'object' || sections === null || Array.isArray(sections)) throw new StorageError(`offloaded sections ${key} are not an object`);
      const restored: JsonObject = {};
      for (const attribute of OFFLOADABLE_ATTRIBUTES) {
        const value = sections[attribute];
        if (value !== undefined) restored[attribute] = value;
      }
      return restored as OffloadedSections;
    },
    async restoreSections(record) {
      if (record.offloaded_s3_key === undefined) return record;
      const restored: ConversationRecord = { ...record, ...(await objects.readSections(record.offloaded_s3_key)) };
      delete restored.offloaded_s3_key;
      delete restored.offloaded_attributes;
      return restored;
    },
  };
  return objects;
}

/** A record as read from the table (or a stream image) made whole: offloaded sections back, the transcript read or left out. */
export async function restoreRecord(stored: ConversationRecord, includeTranscript: boolean, objects: Pick<ConversationObjects, 'readSections' | 'readGzipJson'>): Promise<ConversationRecord> {
  const record = { ...stored };
  if (record.offloaded_s3_key !== undefined) Object.assign(record, await objects.readSections(record.offloaded_s3_key));
  if (!includeTranscript) delete record.transcript;
  else if (record.transcript_location === 's3' && record.transcript_s3_key !== undefined) record.transcript = await objects.readGzipJson(record.transcript_s3_key);
  return record;
}
