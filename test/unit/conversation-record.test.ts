import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  audioObjectKey,
  estimateItemBytes,
  mergeConversationEvent,
  orphanEventConversationId,
  toConversationData,
  type ConversationEvent,
  type ConversationRecord,
  type EventMeta,
  type JsonObject,
} from '../../lambdas/core/record/conversation-record.js';
import type { EventSource } from '../../lambdas/core/ingest/queued-event.js';
import { AGENT_ID, audioData, failureData, transcriptionData } from '../support/conversation-events.js';

const CONVERSATION = 'conv_01jz9a7b6c5d4e3f2g1h0j9k8m';
const NOW = '2026-01-01T13:00:00.000Z';

function meta(sha: string, eventType: string, eventTimestamp: number | undefined, overrides: Partial<EventMeta> = {}): EventMeta {
  return {
    conversationId: CONVERSATION,
    eventType,
    eventTimestamp,
    receivedAt: `2026-01-01T12:00:${String(eventTimestamp === undefined ? 0 : eventTimestamp % 60).padStart(2, '0')}.000Z`,
    source: 'webhook',
    archiveKey: `events/2026/01/01/${CONVERSATION}/${sha}.json.gz`,
    bodySha256: sha.padEnd(64, '0'),
    ...overrides,
  };
}

function transcription(sha: string, eventTimestamp: number, data: JsonObject = transcriptionData(CONVERSATION) as JsonObject, overrides: Partial<EventMeta> = {}): ConversationEvent {
  return { kind: 'transcription', meta: meta(sha, 'post_call_transcription', eventTimestamp, overrides), data };
}

function audio(sha: string, eventTimestamp: number, bytes = 1000): ConversationEvent {
  const { full_audio: _dropped, ...data } = audioData(CONVERSATION, new Uint8Array(4)) as JsonObject;
  return {
    kind: 'audio',
    meta: meta(sha, 'post_call_audio', eventTimestamp),
    audio: { s3_key: audioObjectKey(CONVERSATION, sha.padEnd(64, '0')), bytes, content_type: 'audio/mpeg' },
    data,
  };
}

function failure(sha: string, eventTimestamp: number, reason = 'no-answer'): ConversationEvent {
  return { kind: 'initiation_failure', meta: meta(sha, 'call_initiation_failure', eventTimestamp), data: failureData(CONVERSATION, reason) as JsonObject };
}

const TRACES: JsonObject = { resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'conversation.turn.agent', startTimeUnixNano: '1767268900000000000' }] }] }] };

function otel(sha: string, eventTimestamp: number, traces: JsonObject = TRACES): ConversationEvent {
  return { kind: 'otlp_traces', meta: meta(sha, 'post_call_transcription_otel', eventTimestamp), data: { conversation_id: CONVERSATION, agent_id: AGENT_ID, otlp_traces: traces } };
}

function unknown(sha: string, eventTimestamp: number, conversationId = CONVERSATION): ConversationEvent {
  return { kind: 'unknown', meta: meta(sha, 'post_call_sentiment', eventTimestamp, { conversationId }), data: { conversation_id: conversationId, mood: 'calm', score: 0.7 } };
}

/** Applies events in order, skipping duplicates the way the store does (no write). */
function mergeAll(events: readonly ConversationEvent[]): ConversationRecord {
  let record: ConversationRecord | undefined;
  for (const event of events) {
    const result = mergeConversationEvent(record, event, NOW);
    if (result.kind !== 'duplicate') record = result.record;
  }
  if (record === undefined) throw new Error('no record');
  return record;
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((item, index) => permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]));
}

describe('mergeConversationEvent', () => {
  describe('a post_call_transcription', () => {
    it('creates a record whose summary attributes come from the conversation data', () => {
      // Prepare
      const event = transcription('a1', 1767268920);

      // Act
      const result = mergeConversationEvent(undefined, event, NOW);

      // Assess
      expect(result.kind).toBe('created');
      if (result.kind === 'duplicate') return;
      expect(result.record).toMatchObject({
        conversation_id: CONVERSATION,
        agent_id: AGENT_ID,
        agent_name: 'Front Desk Assistant',
        user_id: 'crm-contact-48213',
        status: 'done',
        start_time_unix_secs: 1767268860,
        start_day: '2026-01-01',
        start_time_source: 'metadata',
        call_duration_secs: 38,
        termination_reason: 'end_call tool was called.',
        call_successful: 'success',
        transcript_summary: 'The caller booked a cleaning.',
        call_summary_title: 'Cleaning booked',
        main_language: 'en',
        has_audio: true,
        has_user_audio: true,
        has_response_audio: true,
        message_count: 3,
        transcript_location: 'inline',
        sources: ['webhook'],
        event_types: ['post_call_transcription'],
        transcription_event_timestamp: 1767268920,
        record_version: 1,
        updated_at: NOW,
      });
      expect(result.record.events).toEqual([
        { event_type: 'post_call_transcription', source: 'webhook', received_at: event.meta.receivedAt, archive_key: event.meta.archiveKey, body_sha256: event.meta.bodySha256, event_timestamp: 1767268920 },
      ]);
    });

    it('keeps every field of the data, known or not, so the original data can be rebuilt exactly', () => {
      // Prepare
      const data = transcriptionData(CONVERSATION, { extra: { otlp_traces: { spans: [{ id: 1 }] }, environment: 'production' } }) as JsonObject;

      // Act
      const result = mergeConversationEvent(undefined, transcription('a1', 1, structuredClone(data)), NOW);

      // Assess
      if (result.kind === 'duplicate') throw new Error('unexpected duplicate');
      expect(toConversationData(result.record)).toEqual(data);
      expect(result.record.conversation).not.toHaveProperty('transcript');
    });

    it('leaves null or empty identifiers out of the summary (they stay in the conversation data)', () => {
      // Prepare
      const data = transcriptionData(CONVERSATION, { agentId: '' }) as JsonObject;

      // Act
      const result = mergeConversationEvent(undefined, transcription('a1', 1, data), NOW);

      // Assess
      if (result.kind === 'duplicate') throw new Error('unexpected duplicate');
      expect(result.record).not.toHaveProperty('agent_id');
      expect(result.record).not.toHaveProperty('branch_id');
      expect(result.record.conversation).toMatchObject({ agent_id: '', branch_id: null });
    });

    it('leaves an agent_id AWS could not index (over 2,048 bytes) out of by_agent, and keeps it in the data', () => {
      // Prepare
      const data = transcriptionData(CONVERSATION, { agentId: 'a'.repeat(2049) }) as JsonObject;

      // Act
      const result = mergeConversationEvent(undefined, transcription('a1', 1, data), NOW);

      // Assess
      if (result.kind === 'duplicate') throw new Error('unexpected duplicate');
      expect(result.record).not.toHaveProperty('agent_id');
      expect(result.record.conversation?.agent_id).toBe('a'.repeat(2049));
    });
  });

  describe('whatever the order of deliveries', () => {
    it('builds the same record from every ordering of transcription, audio and failure', () => {
      // Prepare
      const events = [transcription('a1', 1767268920), audio('b2', 1767268931), failure('c3', 1767272400)];

      // Act
      const records = permutations(events).map(mergeAll);

      // Assess
      expect(records).toHaveLength(6);
      for (const record of records) expect(record).toEqual(records[0]);
      expect(records[0]).toMatchObject({ status: 'done', start_time_source: 'metadata', record_version: 3, event_types: ['call_initiation_failure', 'post_call_audio', 'post_call_transcription'] });
      expect(records[0]?.initiation_failure).toMatchObject({ failure_reason: 'no-answer' });
      expect(records[0]?.audio).toMatchObject({ bytes: 1000, content_type: 'audio/mpeg', event_data: { conversation_id: CONVERSATION } });
    });

    it('builds the same record from any interleaving of any number of deliveries (property)', () => {
      // Prepare
      const events: ConversationEvent[] = [
        transcription('t1', 100, transcriptionData(CONVERSATION, { summary: 'first' }) as JsonObject),
        transcription('t2', 200, transcriptionData(CONVERSATION, { summary: 'second' }) as JsonObject),
        transcription('t3', 200, transcriptionData(CONVERSATION, { summary: 'same time, other body' }) as JsonObject, { source: 'poller' }),
        audio('a1', 150, 10),
        audio('a2', 120, 20),
        failure('f1', 90, 'busy'),
        failure('f2', 95, 'no-answer'),
        unknown('u1', 130),
      ];
      const reference = mergeAll(events);

      // Act + Assess
      fc.assert(
        fc.property(
          fc.array(fc.nat({ max: events.length - 1 }), { maxLength: 10 }).chain((duplicates) => {
            const deliveries = [...events, ...duplicates.map((index) => events[index] as ConversationEvent)];
            return fc.shuffledSubarray(deliveries, { minLength: deliveries.length, maxLength: deliveries.length });
          }),
          (deliveries) => {
            expect(mergeAll(deliveries)).toEqual(reference);
          },
        ),
        { numRuns: 200 },
      );
      expect(reference.transcription_body_sha256).toBe('t3'.padEnd(64, '0'));
      expect(reference.audio).toMatchObject({ bytes: 10 });
      expect(reference.initiation_failure).toMatchObject({ failure_reason: 'no-answer' });
      expect(reference.events).toHaveLength(events.length);
      expect(reference.record_version).toBe(events.length);
    });
  });

  describe('duplicates and older events', () => {
    it('reports a duplicate, and changes nothing, when the body hash is already listed', () => {
      // Prepare
      const record = mergeAll([transcription('a1', 1)]);
      const before = structuredClone(record);

      // Act
      const result = mergeConversationEvent(record, transcription('a1', 1), NOW);

      // Assess
      expect(result).toEqual({ kind: 'duplicate' });
      expect(record).toEqual(before);
    });

    it('keeps the newer transcription when an older one arrives later, but lists the older one', () => {
      // Prepare
      const newer = transcription('n1', 200, transcriptionData(CONVERSATION, { summary: 'newer', turns: 4 }) as JsonObject);
      const older = transcription('o1', 100, transcriptionData(CONVERSATION, { summary: 'older', turns: 2 }) as JsonObject);
      const record = mergeAll([newer]);

      // Act
      const result = mergeConversationEvent(record, older, NOW);

      // Assess
      if (result.kind === 'duplicate') throw new Error('unexpected duplicate');
      expect(result.sectionUpdated).toBe(false);
      expect(result.record).toMatchObject({ transcript_summary: 'newer', message_count: 4, transcription_event_timestamp: 200, record_version: 2 });
      expect(result.record.events.map((pointer) => pointer.body_sha256)).toContain(older.meta.bodySha256);
    });

    it('lists sources in the fixed order webhook, poller whichever came first', () => {
      // Prepare
      const webhook = transcription('w1', 100, undefined, { source: 'webhook' as EventSource });
      const poller = transcription('p1', 700, undefined, { source: 'poller' as EventSource });

      // Act
      const pollerFirst = mergeAll([poller, webhook]);
      const webhookFirst = mergeAll([webhook, poller]);

      // Assess
      expect(pollerFirst.sources).toEqual(['webhook', 'poller']);
      expect(pollerFirst).toEqual(webhookFirst);
    });
  });

  describe('records without a transcription', () => {
    it('files a call initiation failure as failed, at its event time, in the time indexes', () => {
      // Act
      const record = mergeAll([failure('f1', 1767272400)]);

      // Assess
      expect(record).toMatchObject({ status: 'failed', agent_id: AGENT_ID, start_time_unix_secs: 1767272400, start_day: '2026-01-01', start_time_source: 'call_initiation_failure' });
      expect(record.initiation_failure).toEqual(failureData(CONVERSATION));
    });

    it('never lets a failure override the status and start time of a real transcription', () => {
      // Act
      const record = mergeAll([failure('f1', 1767272400), transcription('t1', 1767268920, transcriptionData(CONVERSATION, { status: 'done' }) as JsonObject)]);

      // Assess
      expect(record).toMatchObject({ status: 'done', start_time_unix_secs: 1767268860, start_time_source: 'metadata' });
      expect(record.initiation_failure).toBeDefined();
    });

    it('dates an audio-only record by its audio event until the transcription arrives', () => {
      // Act
      const record = mergeAll([audio('a1', 1767268931)]);

      // Assess
      expect(record).toMatchObject({ agent_id: AGENT_ID, start_time_unix_secs: 1767268931, start_time_source: 'post_call_audio' });
      expect(record).not.toHaveProperty('status');
    });

    it('keeps the OpenTelemetry form exactly, files it under its agent at its event time, and holds no transcription', () => {
      // Act
      const record = mergeAll([otel('o1', 1767268931)]);

      // Assess
      expect(record.otlp_traces).toEqual(TRACES);
      expect(record).toMatchObject({ agent_id: AGENT_ID, start_time_unix_secs: 1767268931, start_time_source: 'post_call_transcription_otel', otlp_traces_event_data: { conversation_id: CONVERSATION, agent_id: AGENT_ID } });
      expect(record).not.toHaveProperty('transcription_body_sha256');
      expect(record).not.toHaveProperty('transcript');
    });

    it('holds both forms once the JSON transcription arrives, in either order, the JSON one giving status and start', () => {
      // Act
      const records = permutations([otel('o1', 1767268931), transcription('t1', 1767268920)]).map(mergeAll);

      // Assess
      expect(records[1]).toEqual(records[0]);
      expect(records[0]).toMatchObject({ status: 'done', start_time_source: 'metadata', otlp_traces: TRACES, transcript_location: 'inline' });
      expect(toConversationData(records[0] as ConversationRecord)).toEqual(transcriptionData(CONVERSATION));
    });

    it('keeps the newer OpenTelemetry form when an older one arrives later', () => {
      // Act
      const record = mergeAll([otel('o2', 1767268990, { resourceSpans: [] }), otel('o1', 1767268931)]);

      // Assess
      expect(record.otlp_traces).toEqual({ resourceSpans: [] });
      expect(record.events).toHaveLength(2);
    });

    it('stores a JSON transcription without its transcript (exclude_transcript) as one with no transcript at all', () => {
      // Prepare
      const { transcript: _left, ...bare } = transcriptionData(CONVERSATION) as JsonObject;

      // Act
      const record = mergeAll([transcription('t1', 1767268920, bare)]);

      // Assess
      expect(record.transcription_body_sha256).toBeDefined();
      expect(record).not.toHaveProperty('transcript_location');
      expect(record).not.toHaveProperty('message_count');
    });

    it('keeps an unknown event type whole in unknown_events of its conversation', () => {
      // Act
      const record = mergeAll([transcription('t1', 1), unknown('u1', 5)]);

      // Assess
      expect(record.unknown_events).toEqual([expect.objectContaining({ event_type: 'post_call_sentiment', data: { conversation_id: CONVERSATION, mood: 'calm', score: 0.7 } })]);
      expect(record.event_types).toEqual(['post_call_sentiment', 'post_call_transcription']);
      expect(record.status).toBe('done');
    });

    it('files an unknown event without a conversation under unknown#<sha256> with status unknown_event', () => {
      // Prepare
      const sha = 'e'.repeat(64);
      const event: ConversationEvent = { kind: 'unknown', meta: meta('e', 'agent_alert', 1767268000, { conversationId: orphanEventConversationId(sha), bodySha256: sha }), data: { alert: 'x' } };

      // Act
      const record = mergeAll([event]);

      // Assess
      expect(record).toMatchObject({ conversation_id: `unknown#${sha}`, status: 'unknown_event', start_time_unix_secs: 1767268000, start_day: '2026-01-01' });
    });
  });
});

describe('estimateItemBytes', () => {
  it('counts names, UTF-8 string bytes and container overhead as DynamoDB does', () => {
    // Act + Assess
    expect(estimateItemBytes({ id: 'abc' })).toBe(2 + 3);
    expect(estimateItemBytes({ s: 'é' })).toBe(1 + 2);
    expect(estimateItemBytes({ m: { k: true } })).toBe(1 + 3 + 1 + 1 + 1);
    expect(estimateItemBytes({ l: [null, null] })).toBe(1 + 3 + 2 * 2);
    expect(estimateItemBytes({ n: 12345.678 })).toBeLessThanOrEqual(1 + 21);
  });
});
