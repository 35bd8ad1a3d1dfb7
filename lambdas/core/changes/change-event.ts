/**
 * The event every stored change of a conversation becomes: `Conversation Stored` the first time the record holds its
 * transcription or its call-initiation failure, `Conversation Updated` for every later change of a section (a recording,
 * a newer transcription, …). Built from the table stream's old and new images, so the consumer records nothing extra:
 * what a write changed is what differs between them. A write that changed no section (an older event's pointer, an
 * offload) and a duplicate (which writes nothing) give no event.
 *
 * The detail carries identifiers, outcome and how to fetch the whole record, never transcript text or phone numbers;
 * `includePersonalData` (context `eventsIncludePersonalData`) adds the summary, the user id and the phone call.
 */
import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';
import { ORPHAN_EVENT_PREFIX, type ConversationRecord, type JsonObject, type JsonValue } from '../record/conversation-record.js';
import { recordOfImage, sourceTableOf, type TableStreamRecord } from './stream-record.js';

/** EventBridge `source` of every change event. */
export const CHANGE_EVENT_SOURCE = 'elevenlabs.conversations';

/** EventBridge `detail-type`s. */
export const CHANGE_DETAIL_TYPE = { stored: 'Conversation Stored', updated: 'Conversation Updated' } as const;
export type ChangeDetailType = (typeof CHANGE_DETAIL_TYPE)[keyof typeof CHANGE_DETAIL_TYPE];

/** A record section a write can change, named as in the record. */
export type ChangedSection = 'transcription' | 'otlp_traces' | 'audio' | 'audio_unavailable' | 'initiation_failure' | 'unknown_event';

/** Each section's marker: the body hash of the event that supplied it, which changes exactly when the section does. */
const SECTION_MARKER = {
  transcription: 'transcription_body_sha256',
  otlp_traces: 'otlp_traces_body_sha256',
  audio: 'audio_body_sha256',
  audio_unavailable: 'audio_unavailable_body_sha256',
  initiation_failure: 'failure_body_sha256',
} as const satisfies Record<Exclude<ChangedSection, 'unknown_event'>, keyof ConversationRecord>;

/** Event types that feed a section of their own; any other type is kept in `unknown_events`. */
const SECTION_EVENT_TYPES: ReadonlySet<string> = new Set(['post_call_transcription', 'post_call_transcription_otel', 'post_call_audio', 'call_initiation_failure', 'audio_unavailable']);

/** The sections whose first arrival makes a conversation "stored": its transcript in either form, or its failure. */
const STORED_SECTIONS: readonly ChangedSection[] = ['transcription', 'otlp_traces', 'initiation_failure'];

/** What a consumer of the event may read; absent values are null, so every event has every key. */
export interface ChangeEventDetail {
  readonly conversation_id: string;
  readonly agent_id: string | null;
  readonly agent_name: string | null;
  readonly status: string | null;
  readonly start_time_unix_secs: number | null;
  /** ISO-8601 (UTC) of `start_time_unix_secs`. */
  readonly start_time: string | null;
  readonly call_duration_secs: number | null;
  readonly call_successful: string | null;
  readonly call_summary_title: string | null;
  readonly termination_reason: string | null;
  /** `failure_reason` of a call-initiation failure (`busy`, `no-answer`, …). */
  readonly failure_reason: string | null;
  /** A recording is stored. */
  readonly has_recording: boolean;
  /** The sections this write changed. */
  readonly changed: readonly ChangedSection[];
  readonly record_version: number;
  readonly sources: readonly string[];
  readonly updated_at: string;
  /** Where the whole record is: GetItem on this table and key (or `elevenlabs-conversations get <id> --json`). */
  readonly record: { readonly table_name: string | null; readonly table_arn: string | null; readonly key: { readonly conversation_id: string } };
  /** Only with `includePersonalData`. */
  readonly personal_data?: PersonalData;
}

/** What only an opted-in stack puts on the bus. */
export interface PersonalData {
  readonly transcript_summary: string | null;
  readonly user_id: string | null;
  readonly phone_call: { readonly direction: string | null; readonly agent_number: string | null; readonly external_number: string | null } | null;
}

/** What the enrichment returns per change: the pipe puts `detail` on the bus with this type and time. */
export interface ChangeEvent {
  readonly detailType: ChangeDetailType;
  /** RFC 3339: when the change was stored (`updated_at`). */
  readonly time: string;
  readonly detail: ChangeEventDetail;
}

/**
 * The pipe's EventBridge target parameters, read by the stack and by the local pipeline: the detail type and time are
 * dynamic paths into the enrichment's output, the detail is its `detail`.
 */
export const CHANGE_EVENT_TARGET = {
  source: CHANGE_EVENT_SOURCE,
  detailTypePath: '$.detailType',
  timePath: '$.time',
  inputTemplate: '<$.detail>',
} as const;

/** An event as PutEvents takes it (and as the local pipeline writes it to events.jsonl). */
export interface PutEventsEntry {
  readonly Source: string;
  readonly DetailType: string;
  /** The detail as a JSON string. */
  readonly Detail: string;
  readonly Time: string;
}

export interface ChangeEventOptions {
  /** Add `personal_data` (summary, user id, phone call). @default false */
  readonly includePersonalData?: boolean;
}

/** The event a stream record stands for, or undefined when it is no stored change of a conversation. */
export function changeEventOf(streamRecord: TableStreamRecord, options: ChangeEventOptions = {}): ChangeEvent | undefined {
  if (streamRecord.eventName !== 'INSERT' && streamRecord.eventName !== 'MODIFY') return undefined;
  const after = recordOfImage(streamRecord.dynamodb?.NewImage);
  if (after === undefined || after.conversation_id.startsWith(ORPHAN_EVENT_PREFIX)) return undefined;
  const before = recordOfImage(streamRecord.dynamodb?.OldImage);
  const changed = changedSections(before, after);
  if (changed.length === 0) return undefined;
  const wasStored = before !== undefined && STORED_SECTIONS.some((section) => hasSection(before, section));
  const detailType = !wasStored && changed.some((section) => STORED_SECTIONS.includes(section)) ? CHANGE_DETAIL_TYPE.stored : CHANGE_DETAIL_TYPE.updated;
  const table = sourceTableOf(streamRecord);
  return { detailType, time: after.updated_at, detail: detailOf(after, changed, table, options.includePersonalData === true) };
}

/** What a change event becomes on the bus, exactly as the pipe's target parameters map it. */
export function putEventsEntryOf(event: ChangeEvent): PutEventsEntry {
  return { Source: CHANGE_EVENT_TARGET.source, DetailType: event.detailType, Detail: JSON.stringify(event.detail), Time: event.time };
}

/** The sections that differ between the two images, in a fixed order. */
export function changedSections(before: ConversationRecord | undefined, after: ConversationRecord): ChangedSection[] {
  const changed: ChangedSection[] = [];
  for (const [section, marker] of Object.entries(SECTION_MARKER) as [keyof typeof SECTION_MARKER, (typeof SECTION_MARKER)[keyof typeof SECTION_MARKER]][]) {
    if (after[marker] !== undefined && after[marker] !== before?.[marker]) changed.push(section);
  }
  if (unknownEventAdded(before, after)) changed.push('unknown_event');
  return changed;
}

function hasSection(record: ConversationRecord, section: ChangedSection): boolean {
  return section !== 'unknown_event' && record[SECTION_MARKER[section]] !== undefined;
}

/** An event of an unknown type was added: by the kept list when both images hold it, else by the new pointers' types. */
function unknownEventAdded(before: ConversationRecord | undefined, after: ConversationRecord): boolean {
  const offloaded = (record: ConversationRecord | undefined) => record?.offloaded_attributes?.includes('unknown_events') === true;
  if (!offloaded(before) && !offloaded(after)) return (after.unknown_events?.length ?? 0) > (before?.unknown_events?.length ?? 0);
  const known = new Set((before?.events ?? []).map((pointer) => pointer.body_sha256));
  return after.events.some((pointer) => !known.has(pointer.body_sha256) && !SECTION_EVENT_TYPES.has(pointer.event_type));
}

function detailOf(record: ConversationRecord, changed: readonly ChangedSection[], table: ReturnType<typeof sourceTableOf>, includePersonalData: boolean): ChangeEventDetail {
  const start = record.start_time_unix_secs;
  const startDate = start === undefined ? undefined : new Date(start * 1000);
  const detail: ChangeEventDetail = {
    conversation_id: record.conversation_id,
    agent_id: record.agent_id ?? null,
    agent_name: record.agent_name ?? null,
    status: record.status ?? null,
    start_time_unix_secs: start ?? null,
    start_time: startDate !== undefined && !Number.isNaN(startDate.getTime()) ? startDate.toISOString() : null,
    call_duration_secs: record.call_duration_secs ?? null,
    call_successful: record.call_successful ?? null,
    call_summary_title: record.call_summary_title ?? null,
    termination_reason: record.termination_reason ?? null,
    failure_reason: stringOrNull(record.initiation_failure?.failure_reason),
    has_recording: record.audio !== undefined,
    changed,
    record_version: record.record_version,
    sources: record.sources,
    updated_at: record.updated_at,
    record: { table_name: table?.name ?? null, table_arn: table?.arn ?? null, key: { conversation_id: record.conversation_id } },
  };
  return includePersonalData ? { ...detail, personal_data: personalDataOf(record) } : detail;
}

function personalDataOf(record: ConversationRecord): PersonalData {
  const metadata = objectOrUndefined(record.conversation?.metadata);
  const phoneCall = objectOrUndefined(metadata?.phone_call);
  return {
    transcript_summary: record.transcript_summary ?? null,
    user_id: record.user_id ?? null,
    phone_call:
      phoneCall === undefined
        ? null
        : { direction: stringOrNull(phoneCall.direction), agent_number: stringOrNull(phoneCall.agent_number), external_number: stringOrNull(phoneCall.external_number) },
  };
}

function stringOrNull(value: JsonValue | undefined): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function objectOrUndefined(value: JsonValue | undefined): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof NumberValue) ? value : undefined;
}
