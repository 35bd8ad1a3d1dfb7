/**
 * Change events from stream records: images of records the production merge built from sample events, marshalled as
 * DynamoDB writes them (the document client's options), so the enrichment sees what the stream carries.
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { changedSections, changeEventOf, putEventsEntryOf } from '../../lambdas/core/changes/change-event.js';
import type { StreamImage, TableStreamRecord } from '../../lambdas/core/changes/stream-record.js';
import { datasetRowOf } from '../../lambdas/core/analytics/dataset-row.js';
import { mergeConversationEvent, type ConversationEvent, type ConversationRecord, type JsonObject } from '../../lambdas/core/record/conversation-record.js';
import { toStorableValue } from '../../lambdas/core/record/stored-value-codec.js';
import { samplePayload } from '../fixtures/webhook-requests.js';

const STREAM_ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/Prod-Conversations-1AB2/stream/2026-01-01T00:00:00.000';
const ID = 'conv_change_event';

function sampleData(type: 'post_call_transcription' | 'call_initiation_failure'): JsonObject {
  const { data } = JSON.parse(samplePayload(type).toString('utf8')) as { data: JsonObject };
  return { ...data, conversation_id: ID };
}

let sequence = 0;
function event(kind: ConversationEvent['kind'], eventTimestamp: number, data: JsonObject = {}): ConversationEvent {
  sequence += 1;
  const eventType = { transcription: 'post_call_transcription', otlp_traces: 'post_call_transcription_otel', audio: 'post_call_audio', audio_unavailable: 'audio_unavailable', initiation_failure: 'call_initiation_failure', unknown: 'post_call_novelty' }[kind];
  const meta = { conversationId: ID, eventType, eventTimestamp, receivedAt: new Date(eventTimestamp * 1000).toISOString(), source: 'webhook' as const, archiveKey: `events/${sequence}`, bodySha256: String(sequence).padStart(64, '0') };
  if (kind === 'audio') return { kind, meta, audio: { s3_key: `audio/${ID}/${sequence}.mp3`, bytes: 3, content_type: 'audio/mpeg' }, data };
  return { kind, meta, data } as ConversationEvent;
}

function merge(current: ConversationRecord | undefined, next: ConversationEvent): ConversationRecord {
  const merged = mergeConversationEvent(current, next, new Date(1767268000_000 + sequence * 1000).toISOString());
  if (merged.kind === 'duplicate') throw new Error('duplicate');
  return merged.record;
}

function image(record: ConversationRecord | undefined): StreamImage | undefined {
  return record === undefined ? undefined : (marshall(toStorableValue(record) as Record<string, unknown>, { removeUndefinedValues: true, convertClassInstanceToMap: false }) as StreamImage);
}

function streamRecord(before: ConversationRecord | undefined, after: ConversationRecord | undefined, eventName?: TableStreamRecord['eventName']): TableStreamRecord {
  return { eventName: eventName ?? (before === undefined ? 'INSERT' : 'MODIFY'), eventSourceARN: STREAM_ARN, dynamodb: { NewImage: image(after), OldImage: image(before) } };
}

const transcribed = merge(undefined, event('transcription', 1767268931, sampleData('post_call_transcription')));
const withAudio = merge(transcribed, event('audio', 1767268990));

describe('changeEventOf', () => {
  it('makes the first transcription a Conversation Stored with the outcome and how to fetch the record', () => {
    const changeEvent = changeEventOf(streamRecord(undefined, transcribed));

    expect(changeEvent?.detailType).toBe('Conversation Stored');
    expect(changeEvent?.time).toBe(transcribed.updated_at);
    expect(changeEvent?.detail).toEqual({
      conversation_id: ID,
      agent_id: 'agent_01jz8k2m4n5p6q7r8s9t0v1w2x',
      agent_name: transcribed.agent_name ?? null,
      status: 'done',
      start_time_unix_secs: transcribed.start_time_unix_secs,
      start_time: new Date((transcribed.start_time_unix_secs ?? 0) * 1000).toISOString(),
      call_duration_secs: 38,
      call_successful: 'success',
      call_summary_title: 'Cleaning booked for Tuesday',
      termination_reason: 'end_call tool was called.',
      failure_reason: null,
      has_recording: false,
      changed: ['transcription'],
      record_version: 1,
      sources: ['webhook'],
      updated_at: transcribed.updated_at,
      record: { table_name: 'Prod-Conversations-1AB2', table_arn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/Prod-Conversations-1AB2', key: { conversation_id: ID } },
    });
  });

  it('makes a later recording a Conversation Updated that says what changed', () => {
    const changeEvent = changeEventOf(streamRecord(transcribed, withAudio));

    expect(changeEvent?.detailType).toBe('Conversation Updated');
    expect(changeEvent?.detail).toMatchObject({ changed: ['audio'], has_recording: true, record_version: 2 });
  });

  it('makes a call-initiation failure a Conversation Stored with its reason', () => {
    const failed = merge(undefined, event('initiation_failure', 1767272400, sampleData('call_initiation_failure')));

    expect(changeEventOf(streamRecord(undefined, failed))?.detailType).toBe('Conversation Stored');
    expect(changeEventOf(streamRecord(undefined, failed))?.detail).toMatchObject({ status: 'failed', failure_reason: 'no-answer', changed: ['initiation_failure'] });
  });

  it('keeps Updated for a recording that came before the transcription, then Stored for the transcription', () => {
    const audioFirst = merge(undefined, event('audio', 1767268990));
    const thenTranscribed = merge(audioFirst, event('transcription', 1767268931, sampleData('post_call_transcription')));

    expect(changeEventOf(streamRecord(undefined, audioFirst))?.detailType).toBe('Conversation Updated');
    expect(changeEventOf(streamRecord(audioFirst, thenTranscribed))?.detail.changed).toEqual(['transcription']);
    expect(changeEventOf(streamRecord(audioFirst, thenTranscribed))?.detailType).toBe('Conversation Stored');
  });

  it('makes a newer transcription an Updated, and an older one (its pointer only) no event', () => {
    const newer = merge(withAudio, event('transcription', 1767269500, { ...sampleData('post_call_transcription'), status: 'done' }));
    const older = merge(newer, event('transcription', 1767260000, sampleData('post_call_transcription')));

    expect(changeEventOf(streamRecord(withAudio, newer))?.detail.changed).toEqual(['transcription']);
    expect(changeEventOf(streamRecord(withAudio, newer))?.detailType).toBe('Conversation Updated');
    expect(older.record_version).toBe(newer.record_version + 1);
    expect(changeEventOf(streamRecord(newer, older))).toBeUndefined();
  });

  it('makes an OpenTelemetry-only transcript a Conversation Stored, and the JSON transcription the poller adds an Updated', () => {
    const traces = merge(undefined, event('otlp_traces', 1767268931, { conversation_id: ID, agent_id: 'agent_otel', otlp_traces: { resourceSpans: [] } }));
    const completed = merge(traces, event('transcription', 1767268931, sampleData('post_call_transcription')));

    expect(changeEventOf(streamRecord(undefined, traces))).toMatchObject({ detailType: 'Conversation Stored', detail: { changed: ['otlp_traces'], agent_id: 'agent_otel' } });
    expect(changeEventOf(streamRecord(traces, completed))).toMatchObject({ detailType: 'Conversation Updated', detail: { changed: ['transcription'] } });
  });

  it('reports an event of an unknown type as an unknown_event change', () => {
    const unknown = merge(withAudio, event('unknown', 1767269999, { conversation_id: ID, something: 'new' }));

    expect(changedSections(withAudio, unknown)).toEqual(['unknown_event']);
  });

  it('gives no event for a removal, an orphan unknown event, or an image without a record', () => {
    const orphan = { ...transcribed, conversation_id: 'unknown#abc' };

    expect(changeEventOf(streamRecord(transcribed, undefined, 'REMOVE'))).toBeUndefined();
    expect(changeEventOf(streamRecord(undefined, orphan))).toBeUndefined();
    expect(changeEventOf({ eventName: 'INSERT', dynamodb: {} })).toBeUndefined();
  });

  it('carries no transcript text or phone number by default, and the summary, user id and phone call only when asked', () => {
    const plain = JSON.stringify(putEventsEntryOf(changeEventOf(streamRecord(undefined, transcribed)) ?? ({} as never)));
    const personal = changeEventOf(streamRecord(undefined, transcribed), { includePersonalData: true });

    expect(plain).not.toContain('+1555555');
    expect(plain).not.toContain('Riverside Dental');
    expect(plain).not.toContain(transcribed.transcript_summary);
    expect(personal?.detail.personal_data).toEqual({
      transcript_summary: transcribed.transcript_summary,
      user_id: transcribed.user_id ?? null,
      phone_call: { direction: 'inbound', agent_number: '+15555550100', external_number: '+15555550199' },
    });
  });
});

describe('putEventsEntryOf', () => {
  it('is what the pipe puts on the bus: the source, detail type, time and the detail as a JSON string', () => {
    const changeEvent = changeEventOf(streamRecord(undefined, transcribed));
    const entry = putEventsEntryOf(changeEvent ?? ({} as never));

    expect(Object.keys(entry)).toEqual(['Source', 'DetailType', 'Detail', 'Time']);
    expect(entry).toMatchObject({ Source: 'elevenlabs.conversations', DetailType: 'Conversation Stored', Time: transcribed.updated_at });
    expect(JSON.parse(entry.Detail)).toEqual(changeEvent?.detail);
  });
});

describe('datasetRowOf', () => {
  it('holds the summary, the analysis as JSON text, cost, the reasons and the recording flag, no transcript by default', () => {
    const row = datasetRowOf(withAudio, { exportedAt: '2026-01-02T00:00:00.000Z' });

    expect(row).toMatchObject({
      conversation_id: ID,
      call_duration_secs: 38,
      cost: 412,
      cost_usd: 0.0412,
      has_recording: true,
      record_version: 2,
      sources: 'webhook',
      transcript_text: null,
      start_day: withAudio.start_day,
    });
    expect(JSON.parse(String(row?.evaluation_criteria_results))).toEqual({ appointment_booked: { criteria_id: 'appointment_booked', result: 'success', rationale: 'The caller accepted the 10:30 Tuesday slot.' } });
    expect(JSON.parse(String(row?.data_collection_results))).toMatchObject({ requested_service: { value: 'cleaning' } });
    expect(JSON.stringify(row)).not.toContain('+1555555');
  });

  it('holds the transcript as role: message lines only when asked', () => {
    const row = datasetRowOf(withAudio, { exportedAt: '2026-01-02T00:00:00.000Z', includeTranscript: true });

    expect(String(row?.transcript_text).split('\n')[0]).toBe('agent: Hi, thanks for calling Riverside Dental. How can I help you today?');
  });

  it('has no row for what is no conversation', () => {
    expect(datasetRowOf({ ...withAudio, conversation_id: 'unknown#abc' }, { exportedAt: '2026-01-02T00:00:00.000Z' })).toBeUndefined();
  });
});
