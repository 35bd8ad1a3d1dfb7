/**
 * The conversation record: one DynamoDB item per conversation, built from any number of events in any order.
 *
 * `mergeConversationEvent` is pure. Every section (transcription, OpenTelemetry traces, audio, call initiation
 * failure) keeps the data
 * of its newest event, lists are kept sorted, and the summary/index attributes are derived from the sections
 * alone, so the same set of events gives the same record whatever the order or number of deliveries.
 */
// The class lib-dynamodb re-exports as NumberValue, from its side-effect-free package (keeps the DynamoDB client out of bundles that only need the class).
import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';
import { isDynamoDbNumber, keyValueProblem } from '../storage-limits.js';
import type { EventSource } from '../ingest/queued-event.js';
import { keySegment, type KeySegmentOptions } from '../s3-keys.js';

/** JSON as the consumer reads it: a number a double cannot hold exactly is a NumberValue of its digits (exact-json.ts). */
export type JsonValue = string | number | NumberValue | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Pointer to one raw event as archived in S3; `body_sha256` is the event's identity for de-duplication. */
export interface EventPointer {
  event_type: string;
  source: EventSource;
  /** ISO-8601 time the receiver or poller accepted it. */
  received_at: string;
  /** S3 key of the gzip-compressed raw body in the conversation bucket (`events/…`). */
  archive_key: string;
  body_sha256: string;
  /** `event_timestamp` of the envelope (unix seconds), when it had one. */
  event_timestamp?: number;
}

/** Where the MP3 of a `post_call_audio` event lives. */
export interface AudioObject {
  s3_key: string;
  bytes: number;
  content_type: string;
  /** SHA-256 (hex) of the MP3 bytes; absent on records stored before it was recorded. */
  sha256?: string;
}

export interface AudioSection extends AudioObject {
  /**
   * The event's `data` without `full_audio` (agent_id, conversation_id and any field ElevenLabs adds); a back-filled
   * recording's keeps `audio_object`, the archived copy it was made from. Absent from the item when offloaded
   * (`offloaded_attributes` names `audio.event_data`); the read API puts it back.
   */
  event_data?: JsonObject;
  /** How the recording arrived: `webhook` (post_call_audio) or `poller` (back-filled from the API). */
  source?: EventSource;
}

/** An event of a type this version does not know, kept whole. */
export interface UnknownEventEntry extends EventPointer {
  data: JsonObject;
}

/**
 * One conversation as stored in the conversations table (snake_case, ElevenLabs's own names where they exist).
 * Optional attributes are absent (never null/empty) when unknown, so the sparse indexes stay valid.
 */
export interface ConversationRecord {
  /** Partition key. `unknown#<body_sha256>` for an unknown event type that named no conversation. */
  conversation_id: string;
  /** by_agent partition key. */
  agent_id?: string;
  agent_name?: string;
  user_id?: string;
  branch_id?: string;
  version_id?: string;
  /** ElevenLabs status (`done`, `failed`, …); `failed` for a call initiation failure without a transcript; `unknown_event` for orphan events. */
  status?: string;
  /** Sort key of both indexes. From `metadata.start_time_unix_secs`, else the event timestamp named by `start_time_source`. */
  start_time_unix_secs?: number;
  /** by_day partition key: UTC date (YYYY-MM-DD) of `start_time_unix_secs`. */
  start_day?: string;
  /** What `start_time_unix_secs` came from: `metadata` or the event type whose timestamp stood in for it. */
  start_time_source?: string;
  call_duration_secs?: number;
  termination_reason?: string;
  call_successful?: string;
  transcript_summary?: string;
  call_summary_title?: string;
  main_language?: string;
  has_audio?: boolean;
  has_user_audio?: boolean;
  has_response_audio?: boolean;
  /** Number of transcript turns. */
  message_count?: number;
  /** The newest transcription's `data` exactly as received, except `transcript` (kept in `transcript`). */
  conversation?: JsonObject;
  /** Every transcript turn as received; absent from the item when offloaded (`transcript_location: 's3'`). */
  transcript?: JsonValue;
  transcript_location?: 'inline' | 's3';
  /** gzip JSON of the transcript in the conversation bucket, when offloaded. */
  transcript_s3_key?: string;
  /**
   * The newest `post_call_transcription_otel` event's `otlp_traces` exactly as received (the OpenTelemetry form of the
   * conversation, sent with `transcript_format: opentelemetry`); moved to S3 with the other large sections when needed.
   */
  otlp_traces?: JsonValue;
  /** That event's `data` without `otlp_traces` (conversation_id, agent_id, any field ElevenLabs adds). */
  otlp_traces_event_data?: JsonObject;
  audio?: AudioSection;
  /**
   * The poller's newest `audio_unavailable` event's `data` (`status_code` 404 or 422): ElevenLabs has no recording of
   * the conversation, so none is fetched again.
   */
  audio_unavailable?: JsonObject;
  /** The newest `call_initiation_failure` event's `data` as received (failure_reason, metadata, …). */
  initiation_failure?: JsonObject;
  unknown_events?: UnknownEventEntry[];
  /**
   * Parts moved to S3 (one gzip JSON object, `{<part>: value}`) because DynamoDB cannot hold them or the item would
   * not fit even without the transcript; the read API puts them back.
   */
  offloaded_s3_key?: string;
  offloaded_attributes?: OffloadablePart[];
  /** Delivery paths seen, in the fixed order webhook, poller. */
  sources: EventSource[];
  /** Event types seen, sorted. */
  event_types: string[];
  first_received_at: string;
  last_received_at: string;
  /** Every distinct event, sorted by received_at then body_sha256. */
  events: EventPointer[];
  transcription_event_timestamp?: number;
  transcription_body_sha256?: string;
  otlp_traces_event_timestamp?: number;
  otlp_traces_body_sha256?: string;
  audio_event_timestamp?: number;
  audio_body_sha256?: string;
  audio_unavailable_event_timestamp?: number;
  audio_unavailable_body_sha256?: string;
  failure_event_timestamp?: number;
  failure_body_sha256?: string;
  /** TTL (unix seconds); never set by the consumer, kept when an operator sets it. */
  expires_at?: number;
  /** Incremented by every write; the optimistic-concurrency token. */
  record_version: number;
  updated_at: string;
}

/**
 * Top-level attributes that may move to S3 besides the transcript: the sections, and the summary copies taken from
 * them (a 350 KB `transcript_summary` among them). Never an index key (`agent_id`, `start_day`, the start time), nor
 * what filters and the poller read (`status`, `audio_unavailable`), nor the audio pointer: these are small by rule.
 */
export const OFFLOADABLE_ATTRIBUTES = [
  'conversation',
  'otlp_traces',
  'otlp_traces_event_data',
  'unknown_events',
  'initiation_failure',
  'agent_name',
  'user_id',
  'branch_id',
  'version_id',
  'termination_reason',
  'call_successful',
  'transcript_summary',
  'call_summary_title',
  'main_language',
] as const satisfies readonly (keyof ConversationRecord)[];
export type OffloadableAttribute = (typeof OFFLOADABLE_ATTRIBUTES)[number];
/** The audio section's `event_data`: the rest of `audio` (the recording's key and size) stays in the item. */
export const AUDIO_EVENT_DATA_PART = 'audio.event_data';
/** What `offloaded_attributes` may name. */
export type OffloadablePart = OffloadableAttribute | typeof AUDIO_EVENT_DATA_PART;
export const OFFLOADABLE_PARTS: readonly OffloadablePart[] = [...OFFLOADABLE_ATTRIBUTES, AUDIO_EVENT_DATA_PART];

export const ORPHAN_EVENT_PREFIX = 'unknown#';
export const ORPHAN_EVENT_STATUS = 'unknown_event';
export const INITIATION_FAILURE_STATUS = 'failed';

/** Record key for an unknown event that named no conversation. */
export function orphanEventConversationId(bodySha256: string): string {
  return `${ORPHAN_EVENT_PREFIX}${bodySha256}`;
}

/** What the consumer knows about an event besides its data. */
export interface EventMeta {
  /** Key of the record the event belongs to (the conversation id, or the orphan key). */
  readonly conversationId: string;
  readonly eventType: string;
  readonly eventTimestamp?: number;
  readonly receivedAt: string;
  readonly source: EventSource;
  readonly archiveKey: string;
  readonly bodySha256: string;
}

/** A decoded event, ready to merge. Audio arrives already stored (or about to be) as an S3 object. */
export type ConversationEvent =
  | { readonly kind: 'transcription'; readonly meta: EventMeta; readonly data: JsonObject }
  /** `post_call_transcription_otel`: `data` is `{conversation_id, agent_id, otlp_traces}`. */
  | { readonly kind: 'otlp_traces'; readonly meta: EventMeta; readonly data: JsonObject }
  | { readonly kind: 'audio'; readonly meta: EventMeta; readonly audio: AudioObject; readonly data: JsonObject }
  | { readonly kind: 'audio_unavailable'; readonly meta: EventMeta; readonly data: JsonObject }
  | { readonly kind: 'initiation_failure'; readonly meta: EventMeta; readonly data: JsonObject }
  | { readonly kind: 'unknown'; readonly meta: EventMeta; readonly data: JsonObject };

export type MergeResult =
  | { readonly kind: 'duplicate' }
  | {
      readonly kind: 'created' | 'merged';
      readonly record: ConversationRecord;
      /** True when the event's section replaced the stored one (false: an older event, only its pointer was added). */
      readonly sectionUpdated: boolean;
    };

const SOURCE_ORDER: readonly EventSource[] = ['webhook', 'poller'];

/** Summary attributes derived from the sections; cleared and recomputed on every merge. */
const DERIVED_ATTRIBUTES = [
  'agent_id',
  'agent_name',
  'user_id',
  'branch_id',
  'version_id',
  'status',
  'start_time_unix_secs',
  'start_day',
  'start_time_source',
  'call_duration_secs',
  'termination_reason',
  'call_successful',
  'transcript_summary',
  'call_summary_title',
  'main_language',
  'has_audio',
  'has_user_audio',
  'has_response_audio',
] as const satisfies readonly (keyof ConversationRecord)[];

/**
 * Merges one event into the stored record (undefined: none yet). Pure: returns a new record, or `duplicate` when an
 * event with the same body_sha256 is already listed (the caller then writes nothing).
 */
export function mergeConversationEvent(current: ConversationRecord | undefined, event: ConversationEvent, now: string): MergeResult {
  const { meta } = event;
  if (current?.events.some((pointer) => pointer.body_sha256 === meta.bodySha256)) return { kind: 'duplicate' };

  // A shallow copy: sections are replaced whole, never changed in place (and a deep clone would turn exact numbers,
  // NumberValue instances, into plain objects).
  const record: ConversationRecord = current
    ? { ...current }
    : {
        conversation_id: meta.conversationId,
        sources: [],
        event_types: [],
        events: [],
        first_received_at: meta.receivedAt,
        last_received_at: meta.receivedAt,
        record_version: 0,
        updated_at: now,
      };

  const pointer = pointerOf(meta);
  record.events = [...record.events, pointer].sort(compareByArrival);
  record.sources = SOURCE_ORDER.filter((source) => source === meta.source || record.sources.includes(source));
  record.event_types = [...new Set([...record.event_types, meta.eventType])].sort();
  record.first_received_at = record.events[0]?.received_at ?? meta.receivedAt;
  record.last_received_at = record.events.at(-1)?.received_at ?? meta.receivedAt;

  const sectionUpdated = applySection(record, event);
  deriveSummary(record);
  record.record_version = (current?.record_version ?? 0) + 1;
  record.updated_at = now;
  return { kind: current ? 'merged' : 'created', record, sectionUpdated };
}

/** The GET-conversation shape (`data` of the newest transcription, transcript included) the record was built from. */
export function toConversationData(record: ConversationRecord): JsonObject | undefined {
  if (record.conversation === undefined) return undefined;
  return record.transcript === undefined ? { ...record.conversation } : { ...record.conversation, transcript: record.transcript };
}

function pointerOf(meta: EventMeta): EventPointer {
  const pointer: EventPointer = {
    event_type: meta.eventType,
    source: meta.source,
    received_at: meta.receivedAt,
    archive_key: meta.archiveKey,
    body_sha256: meta.bodySha256,
  };
  if (meta.eventTimestamp !== undefined) pointer.event_timestamp = meta.eventTimestamp;
  return pointer;
}

function compareByArrival(a: EventPointer, b: EventPointer): number {
  const byTime = (Date.parse(a.received_at) || 0) - (Date.parse(b.received_at) || 0);
  if (byTime !== 0) return byTime;
  return a.body_sha256 < b.body_sha256 ? -1 : a.body_sha256 > b.body_sha256 ? 1 : 0;
}

/** The time an event speaks for: its envelope timestamp, else when we received it. */
export function effectiveEventTime(meta: Pick<EventMeta, 'eventTimestamp' | 'receivedAt'>): number {
  if (meta.eventTimestamp !== undefined) return meta.eventTimestamp;
  const received = Date.parse(meta.receivedAt);
  return Number.isFinite(received) ? Math.floor(received / 1000) : 0;
}

/** Newer wins; equal timestamps are broken by body hash so the outcome never depends on arrival order. */
function isNewer(time: number, sha: string, storedTime: number | undefined, storedSha: string | undefined): boolean {
  if (storedTime === undefined || storedSha === undefined) return true;
  if (time !== storedTime) return time > storedTime;
  return sha > storedSha;
}

function applySection(record: ConversationRecord, event: ConversationEvent): boolean {
  const time = effectiveEventTime(event.meta);
  const sha = event.meta.bodySha256;
  switch (event.kind) {
    case 'transcription': {
      if (!isNewer(time, sha, record.transcription_event_timestamp, record.transcription_body_sha256)) return false;
      const { transcript, ...conversation } = event.data;
      record.conversation = conversation;
      delete record.transcript;
      delete record.transcript_location;
      delete record.transcript_s3_key;
      delete record.message_count;
      if (transcript !== undefined) {
        record.transcript = transcript;
        record.transcript_location = 'inline';
        if (Array.isArray(transcript)) record.message_count = transcript.length;
      }
      record.transcription_event_timestamp = time;
      record.transcription_body_sha256 = sha;
      return true;
    }
    case 'otlp_traces': {
      if (!isNewer(time, sha, record.otlp_traces_event_timestamp, record.otlp_traces_body_sha256)) return false;
      const { otlp_traces: traces, ...eventData } = event.data;
      if (traces === undefined) delete record.otlp_traces;
      else record.otlp_traces = traces;
      record.otlp_traces_event_data = eventData;
      record.otlp_traces_event_timestamp = time;
      record.otlp_traces_body_sha256 = sha;
      return true;
    }
    case 'audio': {
      if (!isNewer(time, sha, record.audio_event_timestamp, record.audio_body_sha256)) return false;
      record.audio = { ...event.audio, event_data: event.data, source: event.meta.source };
      record.audio_event_timestamp = time;
      record.audio_body_sha256 = sha;
      return true;
    }
    case 'audio_unavailable': {
      if (!isNewer(time, sha, record.audio_unavailable_event_timestamp, record.audio_unavailable_body_sha256)) return false;
      record.audio_unavailable = event.data;
      record.audio_unavailable_event_timestamp = time;
      record.audio_unavailable_body_sha256 = sha;
      return true;
    }
    case 'initiation_failure': {
      if (!isNewer(time, sha, record.failure_event_timestamp, record.failure_body_sha256)) return false;
      record.initiation_failure = event.data;
      record.failure_event_timestamp = time;
      record.failure_body_sha256 = sha;
      return true;
    }
    case 'unknown': {
      const entry: UnknownEventEntry = { ...pointerOf(event.meta), data: event.data };
      record.unknown_events = [...(record.unknown_events ?? []), entry].sort(compareByArrival);
      return true;
    }
  }
}

function optionalString(value: JsonValue | undefined): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * A number DynamoDB can hold as a top-level attribute; others stay only in their section (offloaded if need be). The
 * summary copy of an exact number is its nearest double: the section keeps every digit.
 */
function optionalNumber(value: JsonValue | undefined): number | undefined {
  const number = value instanceof NumberValue ? Number(value.toString()) : value;
  return typeof number === 'number' && isDynamoDbNumber(number) ? number : undefined;
}

function optionalBoolean(value: JsonValue | undefined): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

function objectField(value: JsonValue | undefined): JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof NumberValue) ? value : {};
}

/** UTC calendar day of a unix time, or undefined when the time is outside what a Date can show. */
export function utcDayOf(unixSecs: number): string | undefined {
  const date = new Date(unixSecs * 1000);
  const iso = Number.isNaN(date.getTime()) ? undefined : date.toISOString();
  return iso !== undefined && /^\d{4}-/.test(iso) ? iso.slice(0, 10) : undefined;
}

function deriveSummary(record: ConversationRecord): void {
  for (const attribute of DERIVED_ATTRIBUTES) delete record[attribute];
  const conversation = record.conversation ?? {};
  const metadata = objectField(conversation.metadata);
  const analysis = objectField(conversation.analysis);
  const failure = record.initiation_failure ?? {};
  const audioData = record.audio?.event_data ?? {};
  const firstUnknown = record.unknown_events?.[0];

  const summary: Partial<ConversationRecord> = {
    agent_id: [conversation.agent_id, failure.agent_id, record.otlp_traces_event_data?.agent_id, audioData.agent_id, record.audio_unavailable?.agent_id, firstUnknown?.data.agent_id]
      .map(optionalString)
      // The by_agent index key: one AWS would refuse (the receiver refuses such events; older queued ones may hold one)
      // leaves the record out of that index rather than unstorable. The section keeps it.
      .find((agentId) => agentId !== undefined && keyValueProblem(agentId, 'partition') === undefined),
    agent_name: optionalString(conversation.agent_name),
    user_id: optionalString(conversation.user_id),
    branch_id: optionalString(conversation.branch_id),
    version_id: optionalString(conversation.version_id),
    status:
      optionalString(conversation.status) ??
      (record.initiation_failure ? INITIATION_FAILURE_STATUS : undefined) ??
      (record.conversation_id.startsWith(ORPHAN_EVENT_PREFIX) ? ORPHAN_EVENT_STATUS : undefined),
    call_duration_secs: optionalNumber(metadata.call_duration_secs),
    termination_reason: optionalString(metadata.termination_reason),
    call_successful: optionalString(analysis.call_successful),
    transcript_summary: optionalString(analysis.transcript_summary),
    call_summary_title: optionalString(analysis.call_summary_title),
    main_language: optionalString(metadata.main_language),
    has_audio: optionalBoolean(conversation.has_audio),
    has_user_audio: optionalBoolean(conversation.has_user_audio),
    has_response_audio: optionalBoolean(conversation.has_response_audio),
    ...deriveStartTime(record, optionalNumber(metadata.start_time_unix_secs)),
  };
  for (const [name, value] of Object.entries(summary)) {
    if (value !== undefined) Object.assign(record, { [name]: value });
  }
}

/**
 * The call's start time. Without a transcription (no metadata yet) a section's event timestamp stands in, so every
 * record appears in the time indexes; `start_time_source` says which one, and the real time replaces it later.
 */
function deriveStartTime(record: ConversationRecord, metadataStart: number | undefined): Partial<ConversationRecord> {
  const firstUnknown = record.unknown_events?.[0];
  const candidates: [string, number | undefined][] = [
    ['metadata', metadataStart],
    ['call_initiation_failure', record.failure_event_timestamp],
    ['post_call_transcription_otel', record.otlp_traces_event_timestamp],
    ['post_call_audio', record.audio_event_timestamp],
    [firstUnknown?.event_type ?? 'unknown', firstUnknown ? effectiveEventTime({ eventTimestamp: firstUnknown.event_timestamp, receivedAt: firstUnknown.received_at }) : undefined],
    ['received_at', effectiveEventTime({ receivedAt: record.first_received_at })],
  ];
  for (const [source, time] of candidates) {
    const day = time === undefined ? undefined : utcDayOf(time);
    if (time !== undefined && day !== undefined) return { start_time_unix_secs: time, start_day: day, start_time_source: source };
  }
  return {};
}

/**
 * Upper bound of the item's size as DynamoDB counts it (attribute names + values; numbers ≤ 21 bytes; 3 bytes per
 * list/map plus 1 per element). Used to decide offloading before the write, never to truncate.
 */
export function estimateItemBytes(item: object): number {
  let total = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    total += Buffer.byteLength(name) + estimateValueBytes(value);
  }
  return total;
}

function estimateValueBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number' || typeof value === 'bigint' || value instanceof NumberValue) return Math.min(21, Math.ceil(String(value).replace(/\D/g, '').length / 2) + 2);
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) return value.reduce<number>((sum, element) => sum + 1 + estimateValueBytes(element), 3);
  if (typeof value === 'object') {
    let sum = 3;
    for (const [key, element] of Object.entries(value)) {
      if (element !== undefined) sum += 1 + Buffer.byteLength(key) + estimateValueBytes(element);
    }
    return sum;
  }
  return Buffer.byteLength(String(value));
}

/** The conversation part of a record object's key; the body hash beside it keeps keys distinct. */
const RECORD_KEY_SEGMENT: KeySegmentOptions = { maxChars: 200, fallback: '_' };

/** `audio/<conversation_id>/<body_sha256>.mp3`: one object per audio event, so concurrent writers never clobber each other. */
export function audioObjectKey(conversationId: string, bodySha256: string): string {
  return `audio/${keySegment(conversationId, RECORD_KEY_SEGMENT)}/${bodySha256}.mp3`;
}

/**
 * `transcripts/<conversation_id>/<body_sha256>-<token>.json.gz`: the transcript of the transcription event with that
 * body, as one write stored it. The token (random per write) gives each write objects of its own, so a write that
 * fails can delete what it wrote without another writer depending on it.
 */
export function transcriptObjectKey(conversationId: string, bodySha256: string, token: string): string {
  return `transcripts/${keySegment(conversationId, RECORD_KEY_SEGMENT)}/${bodySha256}-${token}.json.gz`;
}

/**
 * `transcripts/<conversation_id>/sections-<content sha256>-<token>.json.gz`: the parts one write offloaded. The content
 * hash lets the next write keep the object when the parts did not change.
 */
export function offloadedSectionsObjectKey(conversationId: string, contentSha256: string, token: string): string {
  return `transcripts/${keySegment(conversationId, RECORD_KEY_SEGMENT)}/sections-${contentSha256}-${token}.json.gz`;
}

/** The content hash an offloaded-sections key names (undefined for keys of other shapes, older records' among them). */
export function contentHashOfSectionsKey(key: string | undefined): string | undefined {
  return key === undefined ? undefined : /\/sections-([0-9a-f]{64})-[0-9a-f]+\.json\.gz$/.exec(key)?.[1];
}

/** Every object of the bucket a record points at (besides its event archives): recording, transcript, offloaded parts. */
export function objectKeysOf(record: ConversationRecord | undefined): string[] {
  if (record === undefined) return [];
  return [record.audio?.s3_key, record.transcript_s3_key, record.offloaded_s3_key].filter((key): key is string => typeof key === 'string');
}
