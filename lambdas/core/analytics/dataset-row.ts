/**
 * A conversation record as one dataset row: the record's summary attributes, the analysis (evaluation criteria and
 * data-collection results as JSON text), cost, why the call ended or failed to start, whether a recording is stored.
 * Transcript text only when asked for (it is personal data). Pure: the caller restores offloaded sections first.
 */
import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';
import { ORPHAN_EVENT_PREFIX, type ConversationRecord, type JsonObject, type JsonValue } from '../record/conversation-record.js';
import type { DatasetRow } from './dataset.js';

export interface DatasetRowOptions {
  /** When the row is made (ISO-8601): `exported_at`. */
  readonly exportedAt: string;
  /** Fill `transcript_text` (the record must then hold its transcript). @default false */
  readonly includeTranscript?: boolean;
}

/** The row of a record, or undefined for what is no conversation (an unknown event that named none) or has no day. */
export function datasetRowOf(record: ConversationRecord, options: DatasetRowOptions): DatasetRow | undefined {
  if (record.conversation_id.startsWith(ORPHAN_EVENT_PREFIX) || record.start_day === undefined) return undefined;
  const conversation = record.conversation ?? {};
  const metadata = objectOf(conversation.metadata);
  const analysis = objectOf(conversation.analysis);
  return {
    conversation_id: record.conversation_id,
    agent_id: record.agent_id ?? null,
    agent_name: record.agent_name ?? null,
    branch_id: record.branch_id ?? null,
    version_id: record.version_id ?? null,
    status: record.status ?? null,
    start_time_unix_secs: record.start_time_unix_secs ?? null,
    start_time_source: record.start_time_source ?? null,
    call_duration_secs: record.call_duration_secs ?? null,
    message_count: record.message_count ?? null,
    call_successful: record.call_successful ?? null,
    call_summary_title: record.call_summary_title ?? null,
    transcript_summary: record.transcript_summary ?? null,
    termination_reason: record.termination_reason ?? null,
    main_language: record.main_language ?? null,
    failure_reason: textOf(record.initiation_failure?.failure_reason),
    has_recording: record.audio !== undefined,
    cost: finiteNumberOf(metadata?.cost),
    cost_usd: finiteNumberOf(metadata?.cost_fiat),
    evaluation_criteria_results: jsonTextOf(analysis?.evaluation_criteria_results),
    data_collection_results: jsonTextOf(analysis?.data_collection_results),
    sources: record.sources.join(','),
    first_received_at: record.first_received_at,
    updated_at: record.updated_at,
    record_version: record.record_version,
    exported_at: options.exportedAt,
    transcript_text: options.includeTranscript === true ? transcriptText(record.transcript) : null,
    start_day: record.start_day,
  };
}

/** One `role: message` line per turn that has a message. */
export function transcriptText(transcript: JsonValue | undefined): string | null {
  if (!Array.isArray(transcript)) return null;
  const lines = transcript.flatMap((turn) => {
    const entry = objectOf(turn);
    const message = textOf(entry?.message);
    return message === null ? [] : [`${textOf(entry?.role) ?? 'unknown'}: ${message}`];
  });
  return lines.length === 0 ? null : lines.join('\n');
}

function objectOf(value: JsonValue | undefined): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof NumberValue) ? value : undefined;
}

function textOf(value: JsonValue | undefined): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function finiteNumberOf(value: JsonValue | undefined): number | null {
  // A number no double holds exactly (kept as its digits) becomes the nearest double: the dataset's columns are doubles.
  const number = value instanceof NumberValue ? Number(value.toString()) : value;
  return typeof number === 'number' && Number.isFinite(number) ? number : null;
}

/** A non-empty object as JSON text (what the engines parse with json_parse); null otherwise. */
function jsonTextOf(value: JsonValue | undefined): string | null {
  const object = objectOf(value);
  return object === undefined || Object.keys(object).length === 0 ? null : JSON.stringify(object);
}
