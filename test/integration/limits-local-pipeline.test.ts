/**
 * "200 means stored" under AWS's real limits (issue 13), table-driven through the whole local pipeline (strict emulator
 * layer included): genuinely signed deliveries that used to be answered 200 and then dead-lettered, or 500 on every
 * retry, or lose digits. Each is either refused with a 4xx and nothing stored, or answered 200 and then stored and read
 * back exactly (`conversations get --json`); none reaches the dead-letter queue, none gets a 5xx, and the bucket holds
 * only what a record points at plus the archives of accepted events.
 *
 * The pipeline's webhook secret is `["<secret>",""]`, the rotation typo that used to make every delivery 500.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConversations } from '../../bin/cli/conversations-command.js';
import type { CommandIo } from '../../bin/cli/io.js';
import { emulatorCredentials, emulatorRegion } from '../../bin/local/emulators.js';
import { startLocalPipeline, type LocalPipeline } from '../../bin/local/pipeline.js';
import { OBJECT_PREFIX } from '../../lambdas/core/contract.js';
import { parseExactJson } from '../../lambdas/core/exact-json.js';
import { objectKeysOf, type ConversationRecord, type JsonObject } from '../../lambdas/core/record/conversation-record.js';
import { elevenLabsSignature, nowSeconds } from '../fixtures/webhook-requests.js';

const SECRET = `wsec_limits_${randomBytes(8).toString('hex')}`;
const RUN = Date.now().toString(36);
const MP3 = Buffer.from('SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjYwLjE2LjEwMAAAAAAAAAAAAAAA//tQxAADwAABpAAAACAAADSAAAAETEFNRTMuMTAwVVVVVVVVVVVVVVVV', 'base64');

/** `levels` nested arrays around a string: the value itself is level 1. */
const nested = (levels: number): unknown => (levels === 1 ? 'leaf' : [nested(levels - 1)]);

/** Which section of the record the case's event fills. */
type RecordKind = 'transcription' | 'audio' | 'unknown';

interface LimitCase {
  readonly name: string;
  /** The exact body sent (signed as ElevenLabs signs it). */
  readonly body: string;
  /** A 4xx and its body, or 200 (then stored and read back exactly). */
  readonly answer: { readonly status: 400 | 413; readonly error?: string } | { readonly status: 200; readonly conversationId: string; readonly kind: RecordKind };
}

function transcription(conversationId: string, data: Record<string, unknown>): string {
  return JSON.stringify({ type: 'post_call_transcription', event_timestamp: nowSeconds(), data: { agent_id: 'agent_limits', conversation_id: conversationId, status: 'done', ...data } });
}

function audio(conversationId: string, data: Record<string, unknown>): string {
  return JSON.stringify({ type: 'post_call_audio', event_timestamp: nowSeconds(), data: { agent_id: 'agent_limits', conversation_id: conversationId, ...data, full_audio: MP3.toString('base64') } });
}

const id = (name: string) => `conv_limits_${name}_${RUN}`;

const CASES: readonly LimitCase[] = [
  {
    name: 'post_call_audio whose data holds a "__proto__" key',
    body: audio(id('proto'), {}).replace('"data":{', '"data":{"__proto__":{"polluted":true},'),
    answer: { status: 200, conversationId: id('proto'), kind: 'audio' },
  },
  { name: 'post_call_audio whose data holds 1e300', body: audio(id('huge_number'), {}).replace('"data":{', '"data":{"score":1e300,'), answer: { status: 200, conversationId: id('huge_number'), kind: 'audio' } },
  { name: 'post_call_audio whose data nests 40 levels', body: audio(id('deep'), { deep: nested(38) }), answer: { status: 200, conversationId: id('deep'), kind: 'audio' } },
  { name: 'post_call_audio with a 350 KB extra field', body: audio(id('wide'), { extra: 'x'.repeat(350 * 1024) }), answer: { status: 200, conversationId: id('wide'), kind: 'audio' } },
  {
    name: 'a transcription with a 350 KB analysis.transcript_summary',
    body: transcription(id('summary'), { analysis: { transcript_summary: 's'.repeat(350 * 1024), call_summary_title: 'long' }, transcript: [{ role: 'agent', message: 'hi' }] }),
    answer: { status: 200, conversationId: id('summary'), kind: 'transcription' },
  },
  {
    name: 'numbers a double cannot hold: 12345678901234567890123 and 0.1000000000000000055511151231257827',
    body: transcription(id('digits'), { metadata: { start_time_unix_secs: nowSeconds() - 60, cost: 0 } }).replace('"cost":0', '"cost":12345678901234567890123,"rate":0.1000000000000000055511151231257827,"tiny":1e-400'),
    answer: { status: 200, conversationId: id('digits'), kind: 'transcription' },
  },
  { name: 'a control character (U+0001) in conversation_id', body: transcription(`${id('control')}\u0001`, {}), answer: { status: 200, conversationId: `${id('control')}\u0001`, kind: 'transcription' } },
  {
    name: 'control characters in agent_id and type',
    body: JSON.stringify({ type: 'post_call_transcription\u0001', data: { agent_id: 'agent\u0001\uFFFF', conversation_id: id('control_type') } }),
    answer: { status: 200, conversationId: id('control_type'), kind: 'unknown' },
  },
  { name: 'a conversation_id of 3,000 bytes', body: transcription('c'.repeat(3000), {}), answer: { status: 400, error: 'invalid_conversation_id' } },
  { name: 'a conversation_id of 1.1 MB', body: transcription('c'.repeat(1_100_000), {}), answer: { status: 400, error: 'invalid_conversation_id' } },
  { name: 'an agent_id of 2,049 bytes', body: JSON.stringify({ type: 'post_call_transcription', data: { agent_id: 'a'.repeat(2049), conversation_id: id('long_agent') } }), answer: { status: 400, error: 'invalid_agent_id' } },
  { name: 'an event type of 300 bytes', body: JSON.stringify({ type: 't'.repeat(300), data: { conversation_id: id('long_type') } }), answer: { status: 400, error: 'invalid_event_type' } },
  // The payload-2.0 event is over Lambda's 6,291,456 bytes, so API Gateway never invokes the receiver.
  { name: 'an audio webhook whose event is over the Lambda invoke limit', body: audio(id('too_long'), { pad: 'p'.repeat(6_300_000) }), answer: { status: 413 } },
];

describe('issue 13: every case is refused with a 4xx or stored exactly, through the local pipeline', () => {
  let dataDir: string;
  let pipeline: LocalPipeline;
  let s3: S3Client;
  let sqs: SQSClient;
  const answers = new Map<string, { status: number; body: string }>();

  async function post(body: string): Promise<{ status: number; body: string }> {
    const response = await fetch(pipeline.endpoints.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'ElevenLabs-Signature': elevenLabsSignature(Buffer.from(body, 'utf8'), SECRET, nowSeconds()) },
      body,
    });
    return { status: response.status, body: await response.text() };
  }

  async function getJson(conversationId: string): Promise<{ code: number; stdout: string }> {
    let stdout = '';
    const io: CommandIo = {
      stdout: { write: (chunk) => ((stdout += chunk.toString()), true) },
      stderr: { write: () => true },
      env: { LOCAL_DATA_DIR: dataDir },
    };
    const code = await runConversations(['get', conversationId, '--local', '--json'], io);
    return { code, stdout };
  }

  async function storedRecord(conversationId: string, kind: RecordKind): Promise<{ record: ConversationRecord; text: string }> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { code, stdout } = await getJson(conversationId);
      if (code === 0) {
        const record = parseExactJson(stdout) as ConversationRecord;
        const section = { audio: record.audio, transcription: record.conversation, unknown: record.unknown_events }[kind];
        if (section !== undefined) return { record, text: stdout };
      }
      if (Date.now() > deadline) throw new Error(`${conversationId.slice(0, 40)} was not stored within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Messages in a queue, visible or in flight. */
  async function queuedMessages(queueUrl: string): Promise<number> {
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }));
    return Object.values(Attributes ?? {}).reduce((total, count) => total + Number(count), 0);
  }

  async function bucketKeys(): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: pipeline.endpoints.bucketName, ContinuationToken: token }));
      // The dataset's Parquet files (analytics/) are copies of records, not objects a record points at.
      keys.push(...(page.Contents ?? []).flatMap((object) => (object.Key === undefined || object.Key.startsWith(OBJECT_PREFIX.analytics) ? [] : [object.Key])));
      token = page.NextContinuationToken;
    } while (token !== undefined);
    return keys.sort();
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'limits-pipeline-'));
    pipeline = await startLocalPipeline({ dataDir, port: 0, inMemory: true, env: { ELEVENLABS_WEBHOOK_SECRET: JSON.stringify([SECRET, '']) }, handlerLogLevel: 'SILENT' });
    s3 = new S3Client({ endpoint: pipeline.endpoints.sqsS3Endpoint, region: emulatorRegion, credentials: emulatorCredentials, forcePathStyle: true });
    sqs = new SQSClient({ endpoint: pipeline.endpoints.sqsS3Endpoint, region: emulatorRegion, credentials: emulatorCredentials });
  });
  afterAll(async () => {
    s3?.destroy();
    sqs?.destroy();
    await pipeline?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it.each(CASES)('$name', async ({ body, answer }) => {
    // Prepare
    const before = await bucketKeys();

    // Act
    const response = await post(body);
    answers.set(body, response);

    // Assess
    expect(response.status, response.body).toBe(answer.status);
    if (answer.status !== 200) {
      if (answer.error !== undefined) expect(JSON.parse(response.body)).toEqual({ error: answer.error });
      expect(await bucketKeys(), 'nothing stored for a refusal').toEqual(before);
      return;
    }
    const { record, text } = await storedRecord(answer.conversationId, answer.kind);
    const sent = (parseExactJson(body) as { data: JsonObject }).data;
    if (answer.kind === 'unknown') {
      expect(record.unknown_events?.map((entry) => [entry.event_type, entry.data]), 'the unknown event read back exactly').toEqual([[(parseExactJson(body) as { type: string }).type, sent]]);
    } else if (answer.kind === 'audio') {
      const { full_audio: _audio, ...eventData } = sent;
      expect(record.audio?.event_data, 'the audio event data read back exactly').toEqual(eventData);
      expect(record.audio?.bytes).toBe(MP3.byteLength);
    } else {
      const { transcript, ...conversation } = sent;
      expect(record.conversation, 'the transcription read back exactly').toEqual(conversation);
      if (transcript !== undefined) expect(record.transcript).toEqual(transcript);
    }
    // Numbers are printed as they were sent, digit for digit (JSON.parse would have made them 1.2345678901234568e+22, 0.1
    // and 0). A number a double holds exactly (1e300) is printed as JSON.stringify prints it (1e+300): the same value.
    for (const digits of body.match(/\d{20,}|0\.\d{20,}|1e-400/g) ?? []) expect(text, `get --json prints ${digits}`).toContain(digits);
  });

  it('stored nothing in the dead-letter queue, answered no 5xx, and left no object that no record points at', async () => {
    // Prepare: wait until the queue is drained.
    const deadline = Date.now() + 30_000;
    while ((await queuedMessages(pipeline.endpoints.queueUrl)) > 0) {
      if (Date.now() > deadline) throw new Error('the ingest queue did not drain');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const records = await Promise.all(
      CASES.flatMap((limitCase) => (limitCase.answer.status === 200 ? [storedRecord(limitCase.answer.conversationId, limitCase.answer.kind)] : [])),
    );

    // Act
    const keys = await bucketKeys();
    const deadLetters = await queuedMessages(pipeline.endpoints.deadLetterQueueUrl);

    // Assess
    expect([...answers.values()].filter((answer) => answer.status >= 500)).toEqual([]);
    expect(deadLetters, 'dead-lettered messages').toBe(0);
    const pointedAt = records.flatMap(({ record }) => [...objectKeysOf(record), ...record.events.map((pointer) => pointer.archive_key)]);
    expect(keys).toEqual([...new Set(pointedAt)].sort());
    expect(records.every(({ record }) => record.events.length === 1), 'one archive per accepted event').toBe(true);
  });
});
