/**
 * The contract between everything that enqueues an event (receiver, poller) and the consumer:
 * how one event travels as one SQS message, and where its raw body lives in S3.
 *
 * Message body: the verified raw body byte-for-byte (inline), or — when it is too large for one SQS
 * message or is not text SQS can carry — a small JSON claim check pointing at the archived copy in S3.
 * Every event is archived (gzip) before it is enqueued, so the claim check simply points at the archive.
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { AWS_LIMITS, OBJECT_PREFIX } from '../contract.js';
import { keySegment, type KeySegmentOptions } from '../s3-keys.js';
import { isSqsText, sqsMessageBytes } from '../storage-limits.js';

export type EventSource = 'webhook' | 'poller';

/** SQS message attribute names (at most 10 are allowed; we use 9). */
export const ATTRIBUTE = {
  eventType: 'event_type',
  conversationId: 'conversation_id',
  agentId: 'agent_id',
  eventTimestamp: 'event_timestamp',
  receivedAt: 'received_at',
  source: 'source',
  archiveKey: 'archive_key',
  bodySha256: 'body_sha256',
  bodyLocation: 'body_location',
} as const;

/** What every queued event says about itself, independent of where its body is. */
export interface EventAttributes {
  readonly eventType: string;
  readonly conversationId?: string;
  readonly agentId?: string;
  /** Unix seconds from the envelope, when it had one. */
  readonly eventTimestamp?: number;
  /** ISO-8601 time we accepted it. */
  readonly receivedAt: string;
  readonly source: EventSource;
  /** S3 key of the gzip-compressed raw body in the archive bucket. */
  readonly archiveKey: string;
  /** Hex SHA-256 of the raw body bytes: the event's identity for de-duplication. */
  readonly bodySha256: string;
}

export interface ClaimCheck {
  readonly bucket: string;
  readonly key: string;
  readonly encoding: 'gzip';
}

export type QueuedEventBody =
  | { readonly location: 'inline'; readonly rawBody: string }
  | { readonly location: 's3'; readonly claimCheck: ClaimCheck };

export interface QueuedEvent {
  readonly attributes: EventAttributes;
  readonly body: QueuedEventBody;
}

/** SQS's maximum message size (body + attributes) as the queue is configured: 1 MiB. */
export const SQS_MAX_MESSAGE_BYTES = AWS_LIMITS.sqsMaxMessageBytes;

/**
 * Characters we send inline: SQS's (the XML 1.0 Char production) less U+10000–U+10FFFF, which SQS accepts but the
 * local pipeline's emulator (fauxqs 1.9) refuses; bodies with such characters (emoji) travel by claim check.
 */
const SQS_FORBIDDEN_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]/u;

// `ignoreBOM` keeps a leading BOM so decode → encode gives back the exact bytes.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The raw body as text SQS can carry byte-for-byte, or undefined when it cannot (invalid UTF-8 or
 * characters SQS rejects); such bodies travel by claim check.
 */
export function bodyAsSqsText(rawBody: Uint8Array): string | undefined {
  let text: string;
  try {
    text = strictUtf8.decode(rawBody);
  } catch {
    return undefined;
  }
  return SQS_FORBIDDEN_CHARACTER.test(text) ? undefined : text;
}

/**
 * DataType of a String attribute whose value is a JSON string literal: identifiers from the body (conversation and
 * agent ids, event type) may hold characters SQS refuses in attribute values (control characters, U+FFFE, lone
 * surrogates), which fauxqs accepts; those travel escaped, so AWS and the local pipeline take the same path.
 */
export const JSON_STRING_ATTRIBUTE_TYPE = 'String.json';

/** `value` as a String attribute SQS accepts: as it is, or as an escaped JSON string under JSON_STRING_ATTRIBUTE_TYPE. */
function textAttribute(value: string): MessageAttributeValue {
  if (isSqsText(value)) return { DataType: 'String', StringValue: value };
  // JSON.stringify escapes control characters and lone surrogates; U+FFFE and U+FFFF it leaves as they are.
  const escaped = JSON.stringify(value).replace(/[\uFFFE\uFFFF]/g, (character) => `\\u${character.charCodeAt(0).toString(16)}`);
  return { DataType: JSON_STRING_ATTRIBUTE_TYPE, StringValue: escaped };
}

export function toMessageAttributes(attributes: EventAttributes, location: QueuedEventBody['location']): Record<string, MessageAttributeValue> {
  const result: Record<string, MessageAttributeValue> = {};
  const put = (name: string, value: string | undefined, dataType: 'String' | 'Number' = 'String') => {
    if (value !== undefined && value !== '') result[name] = { DataType: dataType, StringValue: value };
  };
  const putText = (name: string, value: string | undefined) => {
    if (value !== undefined && value !== '') result[name] = textAttribute(value);
  };
  putText(ATTRIBUTE.eventType, attributes.eventType);
  putText(ATTRIBUTE.conversationId, attributes.conversationId);
  putText(ATTRIBUTE.agentId, attributes.agentId);
  put(ATTRIBUTE.eventTimestamp, attributes.eventTimestamp === undefined ? undefined : String(attributes.eventTimestamp), 'Number');
  put(ATTRIBUTE.receivedAt, attributes.receivedAt);
  put(ATTRIBUTE.source, attributes.source);
  put(ATTRIBUTE.archiveKey, attributes.archiveKey);
  put(ATTRIBUTE.bodySha256, attributes.bodySha256);
  put(ATTRIBUTE.bodyLocation, location);
  return result;
}

/** The SQS message (body + attributes) for an event: inline when it fits, else a claim check to its archive object. */
export function encodeQueuedEvent(
  attributes: EventAttributes,
  rawBody: Uint8Array,
  archiveBucket: string,
  maxMessageBytes: number = SQS_MAX_MESSAGE_BYTES,
): { MessageBody: string; MessageAttributes: Record<string, MessageAttributeValue> } {
  const text = bodyAsSqsText(rawBody);
  if (text !== undefined) {
    const inlineAttributes = toMessageAttributes(attributes, 'inline');
    if (sqsMessageBytes(text, inlineAttributes) <= maxMessageBytes) {
      return { MessageBody: text, MessageAttributes: inlineAttributes };
    }
  }
  const claimCheck: ClaimCheck = { bucket: archiveBucket, key: attributes.archiveKey, encoding: 'gzip' };
  return { MessageBody: JSON.stringify({ claim_check: claimCheck }), MessageAttributes: toMessageAttributes(attributes, 's3') };
}

/** The SQS record shape both Lambda's event and the local event-source loop provide. */
export interface SqsRecordLike {
  readonly body: string;
  readonly messageAttributes: Record<string, { stringValue?: string | undefined; dataType: string }>;
}

export class MalformedQueuedEventError extends Error {
  override readonly name = 'MalformedQueuedEventError';
}

/** Reads a queued event back; throws MalformedQueuedEventError (a poison message) when the contract is broken. */
export function decodeQueuedEvent(record: SqsRecordLike): QueuedEvent {
  const read = (name: string) => {
    const attribute = record.messageAttributes[name];
    if (attribute?.dataType !== JSON_STRING_ATTRIBUTE_TYPE || attribute.stringValue === undefined) return attribute?.stringValue;
    try {
      const value: unknown = JSON.parse(attribute.stringValue);
      if (typeof value === 'string') return value;
    } catch {
      // reported below
    }
    throw new MalformedQueuedEventError(`message attribute ${name} is not a JSON string`);
  };
  const required = (name: string) => {
    const value = read(name);
    if (value === undefined || value === '') throw new MalformedQueuedEventError(`message attribute ${name} is missing`);
    return value;
  };
  const source = required(ATTRIBUTE.source);
  if (source !== 'webhook' && source !== 'poller') throw new MalformedQueuedEventError(`unknown source ${source}`);
  const timestamp = read(ATTRIBUTE.eventTimestamp);
  const attributes: EventAttributes = {
    eventType: required(ATTRIBUTE.eventType),
    conversationId: read(ATTRIBUTE.conversationId),
    agentId: read(ATTRIBUTE.agentId),
    eventTimestamp: timestamp === undefined ? undefined : Number(timestamp),
    receivedAt: required(ATTRIBUTE.receivedAt),
    source,
    archiveKey: required(ATTRIBUTE.archiveKey),
    bodySha256: required(ATTRIBUTE.bodySha256),
  };
  const location = required(ATTRIBUTE.bodyLocation);
  if (location === 'inline') return { attributes, body: { location, rawBody: record.body } };
  if (location !== 's3') throw new MalformedQueuedEventError(`unknown body location ${location}`);
  let claimCheck: unknown;
  try {
    claimCheck = (JSON.parse(record.body) as { claim_check?: unknown }).claim_check;
  } catch (error) {
    throw new MalformedQueuedEventError('claim check is not JSON', { cause: error });
  }
  const check = claimCheck as Partial<ClaimCheck> | undefined;
  if (typeof check?.bucket !== 'string' || typeof check.key !== 'string' || check.encoding !== 'gzip') {
    throw new MalformedQueuedEventError('claim check is incomplete');
  }
  return { attributes, body: { location: 's3', claimCheck: { bucket: check.bucket, key: check.key, encoding: 'gzip' } } };
}

/** Archive key segments (conversation id, event type): an event without a conversation is filed under `_unknown`. */
const ARCHIVE_KEY_SEGMENT: KeySegmentOptions = { maxChars: 128, fallback: '_unknown' };

/** `YYYY/MM/DD` of a UTC day. */
function dayPath(day: Date): string {
  const iso = day.toISOString();
  return `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}`;
}

/** The key segment a conversation's archived events are filed under. */
export function archiveConversationSegment(conversationId: string | undefined): string {
  return keySegment(conversationId, ARCHIVE_KEY_SEGMENT);
}

/** `YYYY/MM/DD/<conversation_id>/<received ms>`: where an archived object of that day and conversation starts. */
function archivePath(receivedAt: Date, conversationId: string | undefined): string {
  return `${dayPath(receivedAt)}/${archiveConversationSegment(conversationId)}/${receivedAt.getTime()}`;
}

/**
 * Archive key, by received date then conversation: `events/YYYY/MM/DD/<conversation_id>/<received ms>-<event_type>-<sha256[0:16]>.json.gz`.
 */
export function archiveKeyFor(input: { receivedAt: Date; conversationId?: string; eventType: string; bodySha256: string }): string {
  return `${OBJECT_PREFIX.events}${archivePath(input.receivedAt, input.conversationId)}-${keySegment(input.eventType, ARCHIVE_KEY_SEGMENT)}-${input.bodySha256.slice(0, 16)}.json.gz`;
}

/** `events/YYYY/MM/DD/`: the archive objects of every event received that UTC day (recordings are not under it). */
export function archiveDayPrefix(day: Date): string {
  return `${OBJECT_PREFIX.events}${dayPath(day)}/`;
}

const ARCHIVE_KEY = /^events\/\d{4}\/\d{2}\/\d{2}\/([^/]+)\/(\d+)-[^/]*\.json\.gz$/;

/** What an archive key says about its event (the inverse of archiveKeyFor), or undefined for any other key. */
export function parseArchiveKey(key: string): { readonly conversationSegment: string; readonly receivedAt: Date } | undefined {
  const match = ARCHIVE_KEY.exec(key);
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  const receivedAt = new Date(Number(match[2]));
  return Number.isNaN(receivedAt.getTime()) ? undefined : { conversationSegment: match[1], receivedAt };
}

/**
 * Where the poller archives a recording it fetched, before it knows the bytes' hash:
 * `events/recordings/YYYY/MM/DD/<conversation_id>/<received ms>-<token>.mp3` (`token`: random, so concurrent
 * back-fills of one conversation never share a key).
 */
export function recordingArchiveKeyFor(input: { receivedAt: Date; conversationId: string; token: string }): string {
  return `${OBJECT_PREFIX.recordings}${archivePath(input.receivedAt, input.conversationId)}-${keySegment(input.token, ARCHIVE_KEY_SEGMENT)}.mp3`;
}
