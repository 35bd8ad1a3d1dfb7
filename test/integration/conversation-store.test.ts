import { gunzipSync } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConversationStorage, type ConversationStorage } from '../support/conversation-storage.js';
import { processQueuedRecord, s3EventPorts, type ProcessedEvent } from '../../lambdas/consumer/process-event.js';
import { createS3Client } from '../../lambdas/core/aws/s3.js';
import { toConversationData, type ConversationRecord } from '../../lambdas/core/record/conversation-record.js';
import { InvalidWebhookError } from '../../lambdas/core/errors.js';
import { AWS_LIMITS } from '../../lambdas/core/contract.js';
const DYNAMODB_MAX_NESTING_LEVELS = AWS_LIMITS.dynamoDbMaxNestingLevels;
import { exceedsNestingLimit } from '../../lambdas/core/json-nesting.js';
import type { ConversationReader, ListConversationsOptions } from '../../lambdas/core/record/conversation-reader.js';
import { ConversationTooLargeError, createConversationStore, type ConversationStore } from '../../lambdas/core/record/conversation-writer.js';
import type { EventSource } from '../../lambdas/core/ingest/queued-event.js';
import { MAX_EVENT_NESTING_LEVELS, parseWebhookEvent } from '../../lambdas/core/ingest/webhook-event.js';
import {
  AGENT_ID,
  archiveAndEncode,
  audioData,
  envelope,
  failureData,
  pseudoRandomBytes,
  sha256Hex,
  toSqsRecord,
  transcriptionData,
  type JsonObject,
} from '../support/conversation-events.js';

const BUCKET = 'conversation-bucket';

let storage: ConversationStorage;
let tableName: string;
let documentClient: DynamoDBDocumentClient;
let s3: ReturnType<typeof createS3Client>;
let store: ConversationStore;
let reader: ConversationReader;
const commandsSent: string[] = [];

beforeAll(async () => {
  // The production client factories, pointed at the emulators the way the local pipeline does it.
  storage = await startConversationStorage(BUCKET, (client) =>
    client.middlewareStack.add(
      (next, context) => async (args) => {
        commandsSent.push(context.commandName ?? 'unknown');
        return next(args);
      },
      { step: 'initialize', name: 'recordCommandNames' },
    ),
  );
  ({ tableName, documentClient, s3, store, reader } = storage);
});

afterAll(async () => {
  await storage?.stop();
});

let conversationCounter = 0;
function newConversationId(): string {
  return `conv_store_${++conversationCounter}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Archives and encodes the event like the receiver, then runs the consumer core on its SQS record. */
async function deliver(
  type: string,
  data: JsonObject,
  eventTimestamp: number | undefined,
  options: { source?: EventSource; receivedAt?: Date; store?: ConversationStore } = {},
): Promise<ProcessedEvent> {
  const published = await archiveAndEncode(envelope(type, data, eventTimestamp), { s3, bucketName: BUCKET, source: options.source, receivedAt: options.receivedAt });
  return processQueuedRecord(toSqsRecord(published.message), { ...s3EventPorts(s3, BUCKET), store: options.store ?? store });
}

async function rawItem(conversationId: string): Promise<Record<string, unknown> | undefined> {
  return (await documentClient.send(new GetCommand({ TableName: tableName, Key: { conversation_id: conversationId } }))).Item;
}

async function collect(options: ListConversationsOptions): Promise<ConversationRecord[]> {
  const records: ConversationRecord[] = [];
  for await (const record of reader.listConversations(options)) records.push(record);
  return records;
}

/** Transcript turns adding up to roughly `bytes` of JSON. */
function longTurns(bytes: number): JsonObject[] {
  const turnText = 'word '.repeat(2000);
  return Array.from({ length: Math.ceil(bytes / turnText.length) }, (_, index) => ({
    role: index % 2 === 0 ? 'agent' : 'user',
    message: `${index}: ${turnText}`,
    time_in_call_secs: index,
    tool_calls: [],
    feedback: null,
    unicode: 'ünïcødé ✓ 📞',
  }));
}

describe('conversation store', () => {
  describe('item size', () => {
    it('offloads a 1.5 MB transcript to S3 and returns it deep-equal to what was sent', async () => {
      // Prepare
      const conversationId = newConversationId();
      const data = transcriptionData(conversationId, { extra: { transcript: longTurns(1_500_000) } });

      // Act
      const processed = await deliver('post_call_transcription', data, 1767268920);

      // Assess
      expect(processed.outcome).toMatchObject({ kind: 'created', transcriptOffloaded: true });
      const item = await rawItem(conversationId);
      expect(item).toBeDefined();
      expect(item).not.toHaveProperty('transcript');
      expect(item).toMatchObject({ transcript_location: 's3', message_count: (data.transcript as unknown[]).length });
      const key = item?.transcript_s3_key as string;
      expect(key).toMatch(new RegExp(`^transcripts/${conversationId}/[0-9a-f]{64}-[0-9a-f]{12}\\.json\\.gz$`));
      const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(JSON.parse(gunzipSync(await object.Body!.transformToByteArray()).toString('utf8'))).toEqual(data.transcript);
      const record = await reader.getConversation(conversationId);
      expect(record?.transcript).toEqual(data.transcript);
      expect(toConversationData(record!)).toEqual(data);
      expect(await reader.getConversation(conversationId, { includeTranscript: false })).not.toHaveProperty('transcript');
    });

    it('moves the other large sections to S3 when the item is still too big without its transcript', async () => {
      // Prepare
      const conversationId = newConversationId();
      const data = transcriptionData(conversationId);
      (data.analysis as JsonObject).data_collection_results = { notes: { data_collection_id: 'notes', value: 'n'.repeat(400_000) } };

      // Act
      const processed = await deliver('post_call_transcription', data, 1767268920);

      // Assess
      expect(processed.outcome).toMatchObject({ kind: 'created', sectionsOffloaded: true });
      const item = await rawItem(conversationId);
      expect(item).not.toHaveProperty('conversation');
      expect(item).toMatchObject({ offloaded_attributes: ['conversation'], call_successful: 'success', agent_id: AGENT_ID });
      expect(toConversationData((await reader.getConversation(conversationId))!)).toEqual(data);
    });

    it('keeps OpenTelemetry traces inline, or moves them to S3 when too large, and returns them exactly beside the JSON transcript', async () => {
      // Prepare: the OpenTelemetry webhook of one conversation (spans adding up to ~600 KB), then its JSON transcription
      const conversationId = newConversationId();
      const spans = longTurns(600_000).map((turn, index) => ({ traceId: 'a'.repeat(32), spanId: index.toString(16).padStart(16, '0'), name: 'conversation.turn', attributes: [{ key: 'message', value: { stringValue: turn.message } }] }));
      const traces = { resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 'elevenlabs.agents' }, spans }] }] };
      const smallTraces = { resourceSpans: [] };
      const small = newConversationId();

      // Act
      const otel = await deliver('post_call_transcription_otel', { conversation_id: conversationId, agent_id: AGENT_ID, otlp_traces: traces }, 1767268930);
      await deliver('post_call_transcription', transcriptionData(conversationId), 1767268920);
      await deliver('post_call_transcription_otel', { conversation_id: small, agent_id: AGENT_ID, otlp_traces: smallTraces }, 1767268930);

      // Assess
      expect(otel).toMatchObject({ kind: 'otlp_traces', outcome: { kind: 'created', sectionsOffloaded: true } });
      const item = await rawItem(conversationId);
      expect(item).not.toHaveProperty('otlp_traces');
      expect(item?.offloaded_attributes).toContain('otlp_traces');
      const record = await reader.getConversation(conversationId);
      expect(record?.otlp_traces).toEqual(traces);
      expect(toConversationData(record!)).toEqual(transcriptionData(conversationId));
      expect(await rawItem(small)).toMatchObject({ otlp_traces: smallTraces, agent_id: AGENT_ID, start_time_source: 'post_call_transcription_otel' });
    });

    it('keeps offloaded sections whole when later events are merged into the record', async () => {
      // Prepare
      const conversationId = newConversationId();
      const data = transcriptionData(conversationId, { extra: { big: 'b'.repeat(350_000) } });
      await deliver('post_call_transcription', data, 1767268920);

      // Act
      await deliver('call_initiation_failure', failureData(conversationId), 1767268999);

      // Assess
      const record = await reader.getConversation(conversationId);
      expect(toConversationData(record!)).toEqual(data);
      expect(record?.initiation_failure).toEqual(failureData(conversationId));
      expect(record?.record_version).toBe(2);
    });

    it('moves sections nested deeper than DynamoDB stores (32 levels) to S3 and returns them deep-equal', async () => {
      // Prepare: dynamic variables and a tool call's details nested 40 deep (dynalite does not enforce the limit).
      const conversationId = newConversationId();
      const deep = (depth: number): JsonObject => (depth === 0 ? { leaf: 'value' } : { level: depth, next: deep(depth - 1) });
      const data = transcriptionData(conversationId);
      data.conversation_initiation_client_data = { dynamic_variables: { profile: deep(40) } };
      ((data.transcript as JsonObject[])[2]?.tool_calls as JsonObject[])[0]!.tool_details = deep(40);

      // Act
      const processed = await deliver('post_call_transcription', data, 1767268920);

      // Assess
      expect(processed.outcome).toMatchObject({ kind: 'created', transcriptOffloaded: true, sectionsOffloaded: true });
      const item = await rawItem(conversationId);
      expect(Object.entries(item ?? {}).filter(([, value]) => exceedsNestingLimit(value, DYNAMODB_MAX_NESTING_LEVELS))).toEqual([]);
      expect(item).toMatchObject({ transcript_location: 's3', offloaded_attributes: ['conversation'], agent_id: AGENT_ID });
      expect(toConversationData((await reader.getConversation(conversationId))!)).toEqual(data);
    });

    it('stores an event nested as deep as the receiver accepts, so no acknowledged event is unstorable', async () => {
      // Prepare: body (1) → data (2) → conversation_initiation_client_data (3) → dynamic_variables (4) → profile (5…).
      const conversationId = newConversationId();
      const deep = (depth: number): JsonObject => (depth === 0 ? { leaf: 'value' } : { next: deep(depth - 1) });
      const withProfile = (depth: number) => ({ ...transcriptionData(conversationId), conversation_initiation_client_data: { dynamic_variables: { profile: deep(depth) } } });
      const deepest = MAX_EVENT_NESTING_LEVELS - 6;
      const data = withProfile(deepest);
      expect(() => parseWebhookEvent(Buffer.from(envelope('post_call_transcription', data, 1)).toString('utf8'))).not.toThrow();
      expect(() => parseWebhookEvent(Buffer.from(envelope('post_call_transcription', withProfile(deepest + 1), 1)).toString('utf8'))).toThrow(InvalidWebhookError);

      // Act
      const processed = await deliver('post_call_transcription', data, 1767268920);

      // Assess
      expect(processed.outcome).toMatchObject({ kind: 'created', sectionsOffloaded: true });
      expect(toConversationData((await reader.getConversation(conversationId))!)).toEqual(data);
    });

    it('stores a body that starts with a UTF-8 byte-order mark, which the receiver accepts', async () => {
      // Prepare
      const conversationId = newConversationId();
      const data = transcriptionData(conversationId);
      const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(envelope('post_call_transcription', data, 1767268920))]);
      const published = await archiveAndEncode(body, { s3, bucketName: BUCKET });

      // Act
      const processed = await processQueuedRecord(toSqsRecord(published.message), { ...s3EventPorts(s3, BUCKET), store });

      // Assess
      expect(processed.outcome.kind).toBe('created');
      expect(toConversationData((await reader.getConversation(conversationId))!)).toEqual(data);
    });

    it('moves sections holding numbers beyond DynamoDB\'s range or a __proto__ key to S3, and returns them exactly', async () => {
      // Prepare: valid JSON DynamoDB cannot hold (its numbers stop at 1E+126 and 1E-130; the marshaller mishandles __proto__).
      const conversationId = newConversationId();
      const data = JSON.parse(
        JSON.stringify(transcriptionData(conversationId)).replace('"status":"done"', '"status":"done","scores":{"huge":1e300,"tiny":5e-324},"__proto__":{"kept":true}'),
      ) as JsonObject;
      (data.transcript as JsonObject[])[0]!.confidence = 1e-200;

      // Act
      const processed = await deliver('post_call_transcription', data, 1767268920);

      // Assess
      expect(processed.outcome).toMatchObject({ kind: 'created', transcriptOffloaded: true, sectionsOffloaded: true });
      const stored = toConversationData((await reader.getConversation(conversationId))!);
      expect(stored).toEqual(data);
      expect(Object.getOwnPropertyDescriptor(stored!, '__proto__')?.value).toEqual({ kept: true });
    });

    it('fails loudly, writing nothing, rather than truncating a record that cannot fit', async () => {
      // Prepare
      const conversationId = newConversationId();
      const tinyStore = createConversationStore({ documentClient, s3, tableName, bucketName: BUCKET, itemBudgetBytes: 300 });

      // Act
      const attempt = deliver('post_call_transcription', transcriptionData(conversationId), 1, { store: tinyStore });

      // Assess
      await expect(attempt).rejects.toBeInstanceOf(ConversationTooLargeError);
      expect(await rawItem(conversationId)).toBeUndefined();
    });
  });

  it('round-trips numbers beyond 2^53 and floats exactly as JSON.parse read them', async () => {
    // Prepare
    const conversationId = newConversationId();
    const data = transcriptionData(conversationId, { extra: { numbers: { big: 2 ** 60, huge: 1e21, negative: -1.5e25, tiny: 1e-7, sum: 0.1 + 0.2, max: Number.MAX_SAFE_INTEGER } } });

    // Act
    await deliver('post_call_transcription', data, 1);

    // Assess
    expect(toConversationData((await reader.getConversation(conversationId))!)).toEqual(data);
  });

  it('loses nothing when ten events of one conversation are written concurrently', async () => {
    // Prepare
    const conversationId = newConversationId();
    const deliveries = [
      ...[100, 400, 300, 200].map((time) => () => deliver('post_call_transcription', transcriptionData(conversationId, { summary: `at ${time}` }), time)),
      ...[150, 450, 250].map((time, index) => () => deliver('post_call_audio', audioData(conversationId, pseudoRandomBytes(1000 + index, time)), time)),
      ...[160, 460, 260].map((time) => () => deliver('call_initiation_failure', failureData(conversationId, `reason at ${time}`), time)),
    ];

    // Act
    const results = await Promise.all(deliveries.map((run) => run()));

    // Assess
    const record = await reader.getConversation(conversationId);
    expect(record?.events).toHaveLength(10);
    expect(record?.record_version).toBe(10);
    expect(record).toMatchObject({ transcript_summary: 'at 400', audio: { bytes: 1001 }, initiation_failure: { failure_reason: 'reason at 460' } });
    expect(results.filter((result) => result.outcome.kind === 'created')).toHaveLength(1);
    expect(await reader.getAudio(conversationId)).toEqual(pseudoRandomBytes(1001, 450));
  });

  describe('read API', () => {
    const day = (date: string, time = '12:00:00') => Date.parse(`${date}T${time}Z`) / 1000;
    const otherAgent = 'agent_other_0000000000000000';
    const ids: Record<string, string> = {};

    beforeAll(async () => {
      const seed: [name: string, agent: string, start: number][] = [
        ['a1', AGENT_ID, day('2025-03-01', '08:00:00')],
        ['a2', AGENT_ID, day('2025-03-02', '23:59:59')],
        ['a3', AGENT_ID, day('2025-03-04', '00:00:00')],
        ['b1', otherAgent, day('2025-03-02', '10:00:00')],
      ];
      for (const [name, agent, start] of seed) {
        const conversationId = newConversationId();
        ids[name] = conversationId;
        await deliver('post_call_transcription', transcriptionData(conversationId, { agentId: agent, startTime: start }), start + 60);
      }
      ids.failed = newConversationId();
      await deliver('call_initiation_failure', failureData(ids.failed), day('2025-03-03', '09:00:00'));
      const orphan = await deliver('agent_alert', { alert: 'quota' }, day('2025-03-03', '10:00:00'));
      ids.orphan = orphan.conversationId;
    });

    it('lists one agent (its call initiation failures too) newest first within an inclusive time range, through the by_agent index', async () => {
      // Prepare
      commandsSent.length = 0;

      // Act
      const records = await collect({ agentId: AGENT_ID, since: day('2025-03-01', '08:00:00'), until: day('2025-03-04', '00:00:00') });

      // Assess
      expect(records.map((record) => record.conversation_id)).toEqual([ids.a3, ids.failed, ids.a2, ids.a1]);
      expect(commandsSent).not.toContain('ScanCommand');
      expect(commandsSent).toContain('QueryCommand');
    });

    it('lists every conversation of a range day by day, oldest first when asked, never scanning', async () => {
      // Prepare
      commandsSent.length = 0;

      // Act
      const records = await collect({ since: day('2025-03-01', '00:00:00'), until: day('2025-03-03', '23:59:59'), order: 'oldest_first' });

      // Assess
      expect(records.map((record) => record.conversation_id)).toEqual([ids.a1, ids.b1, ids.a2, ids.failed, ids.orphan]);
      expect(commandsSent.filter((name) => name === 'QueryCommand')).toHaveLength(3);
      expect(commandsSent).not.toContain('ScanCommand');
      expect(records.every((record) => record.transcript === undefined)).toBe(true);
    });

    it('filters by status, stops at the limit, and includes transcripts when asked', async () => {
      // Act
      const failed = await collect({ since: day('2025-03-01'), until: day('2025-03-05'), status: 'failed' });
      const unknownEvents = await collect({ since: day('2025-03-01'), until: day('2025-03-05'), status: 'unknown_event' });
      const newestTwo = await collect({ since: day('2025-03-01', '00:00:00'), until: day('2025-03-05'), limit: 2, includeTranscript: true });

      // Assess
      expect(failed.map((record) => record.conversation_id)).toEqual([ids.failed]);
      expect(unknownEvents.map((record) => record.conversation_id)).toEqual([ids.orphan]);
      expect(unknownEvents[0]?.unknown_events?.[0]).toMatchObject({ event_type: 'agent_alert', data: { alert: 'quota' } });
      expect(newestTwo.map((record) => record.conversation_id)).toEqual([ids.a3, ids.orphan]);
      expect(newestTwo[0]?.transcript).toHaveLength(3);
    });

    it('returns undefined for a conversation or an audio that does not exist', async () => {
      // Act + Assess
      expect(await reader.getConversation('conv_does_not_exist')).toBeUndefined();
      expect(await reader.getAudio('conv_does_not_exist')).toBeUndefined();
      expect(await reader.getAudio(ids.a1!)).toBeUndefined();
    });

    /** Every record of a listing read page by page, each page continuing after the last record of the one before. */
    async function collectInPages(options: ListConversationsOptions, pageSize: number): Promise<{ ids: string[]; pages: number }> {
      const ids: string[] = [];
      let after: ListConversationsOptions['after'];
      for (let pages = 1; ; pages++) {
        if (pages > 50) throw new Error('the listing did not end: a page repeated the one before');
        const page = await collect({ ...options, limit: pageSize, ...(after === undefined ? {} : { after }) });
        ids.push(...page.map((record) => record.conversation_id));
        const last = page.at(-1);
        if (page.length < pageSize || last === undefined) return { ids, pages };
        after = { conversationId: last.conversation_id, startTimeUnixSecs: last.start_time_unix_secs ?? Number.NaN };
      }
    }

    it('pages through a listing after a record, by day and by agent, in both orders, without repeating or skipping one', async () => {
      // Prepare
      const range = { since: day('2025-03-01', '00:00:00'), until: day('2025-03-05') };
      const cases: ListConversationsOptions[] = [range, { ...range, order: 'oldest_first' }, { ...range, agentId: AGENT_ID }, { ...range, agentId: AGENT_ID, order: 'oldest_first' }];

      for (const options of cases) {
        // Act
        const whole = (await collect(options)).map((record) => record.conversation_id);
        const paged = await collectInPages(options, 2);

        // Assess
        expect(paged.ids).toEqual(whole);
        expect(paged.pages).toBeGreaterThan(1);
      }
    });

    it('reads the same records in Query requests of a few items each, one request per item here', async () => {
      // Prepare
      const range = { since: day('2025-03-01', '00:00:00'), until: day('2025-03-05'), agentId: AGENT_ID };
      const whole = (await collect(range)).map((record) => record.conversation_id);
      commandsSent.length = 0;

      // Act
      const small = (await collect({ ...range, queryPageSize: 1 })).map((record) => record.conversation_id);

      // Assess
      expect(small).toEqual(whole);
      expect(commandsSent.filter((name) => name === 'QueryCommand').length).toBeGreaterThanOrEqual(whole.length);
      await expect(collect({ ...range, queryPageSize: 0 })).rejects.toThrow(RangeError);
    });

    it('continues after a record that shares its start second with the next one', async () => {
      // Prepare
      const start = day('2025-04-01', '09:30:00');
      const sameSecond = [newConversationId(), newConversationId(), newConversationId()];
      for (const conversationId of sameSecond) await deliver('post_call_transcription', transcriptionData(conversationId, { startTime: start }), start + 60);

      // Act
      const paged = await collectInPages({ since: start, until: start }, 1);

      // Assess
      expect([...paged.ids].sort()).toEqual([...sameSecond].sort());
    });

    it('lists the whole range after a position before it, and nothing after a position past its end', async () => {
      // Prepare
      const range = { since: day('2025-03-02', '00:00:00'), until: day('2025-03-03', '23:59:59') };
      const newer = { conversationId: ids.a3!, startTimeUnixSecs: day('2025-03-04', '00:00:00') };
      const older = { conversationId: ids.a1!, startTimeUnixSecs: day('2025-03-01', '08:00:00') };

      // Act
      const whole = await collect(range);
      const afterNewer = await collect({ ...range, after: newer });
      const afterOlder = await collect({ ...range, after: older });
      const oldestFirstAfterNewer = await collect({ ...range, order: 'oldest_first', after: newer });

      // Assess
      expect(whole.length).toBeGreaterThan(2);
      expect(afterNewer.map((record) => record.conversation_id)).toEqual(whole.map((record) => record.conversation_id));
      expect(afterOlder).toEqual([]);
      expect(oldestFirstAfterNewer).toEqual([]);
    });

    it('reads only the attributes asked for, plus the keys, and nothing from S3', async () => {
      // Prepare
      const range = { since: day('2025-03-01', '00:00:00'), until: day('2025-03-05') };

      // Act
      const records = await collect({ ...range, attributes: ['agent_name', 'status'] });

      // Assess
      expect(records.length).toBeGreaterThan(3);
      for (const record of records) {
        expect(Object.keys(record).filter((key) => !['conversation_id', 'start_time_unix_secs', 'agent_name', 'status'].includes(key))).toEqual([]);
      }
      expect(records.find((record) => record.conversation_id === ids.a1)).toEqual({ conversation_id: ids.a1, start_time_unix_secs: day('2025-03-01', '08:00:00'), agent_name: 'Front Desk Assistant', status: 'done' });
    });

    it('streams a recording whole or by byte range, and refuses a range outside it', async () => {
      // Prepare
      const conversationId = newConversationId();
      const mp3 = pseudoRandomBytes(5000, 7);
      await deliver('post_call_audio', audioData(conversationId, mp3), day('2025-03-02'));
      const read = async (stream: NodeJS.ReadableStream) => {
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
        return new Uint8Array(Buffer.concat(chunks));
      };

      // Act
      const audio = await reader.openAudio(conversationId);
      const whole = await read(await audio!.read());
      const middle = await read(await audio!.read({ start: 1000, end: 1999 }));
      const lastByte = await read(await audio!.read({ start: 4999, end: 4999 }));

      // Assess
      expect(audio).toMatchObject({ bytes: 5000, contentType: 'audio/mpeg' });
      expect(whole).toEqual(mp3);
      expect(middle).toEqual(mp3.slice(1000, 2000));
      expect(lastByte).toEqual(mp3.slice(4999));
      await expect(audio!.read({ start: 4000, end: 5000 })).rejects.toThrow(RangeError);
      await expect(audio!.read({ start: 10, end: 9 })).rejects.toThrow(RangeError);
      expect(await reader.openAudio(ids.a1!)).toBeUndefined();
      expect(await reader.openAudio('conv_does_not_exist')).toBeUndefined();
    });

    it('finds an orphan unknown event by its unknown#<sha256> key', async () => {
      // Act
      const record = await reader.getConversation(ids.orphan!);

      // Assess
      expect(ids.orphan).toMatch(/^unknown#[0-9a-f]{64}$/);
      expect(record).toMatchObject({ status: 'unknown_event', event_types: ['agent_alert'] });
      expect(record?.events[0]?.body_sha256).toBe(ids.orphan!.slice('unknown#'.length));
      expect(sha256Hex(envelope('agent_alert', { alert: 'quota' }, day('2025-03-03', '10:00:00')))).toBe(record?.events[0]?.body_sha256);
    });
  });
});
