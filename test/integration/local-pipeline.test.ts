/**
 * The local pipeline end to end, in-process on free ports with a temporary data dir: signed webhooks over real HTTP
 * → receiver → queue → consumer → table and bucket; read back through the `conversations` command; a restart on the
 * same data dir keeps records, offloaded transcripts, audio and queued messages.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConversations } from '../../bin/cli/conversations-command.js';
import type { CommandIo } from '../../bin/cli/io.js';
import { localEndpointsFile } from '../../bin/local/endpoints.js';
import { emulatorCredentials } from '../../bin/local/emulators.js';
import { FAKE_API_KEY, startFakeElevenLabsApi, type FakeElevenLabsApi } from '../../bin/local/fake-elevenlabs-api.js';
import { MAX_REQUEST_BODY_BYTES, startLocalHttpApi, toHttpApiEvent } from '../../bin/local/http-api.js';
import { AWS_LIMITS } from '../../lambdas/core/contract.js';
import { startLocalPipeline, type LocalPipeline } from '../../bin/local/pipeline.js';
import type { ConversationRecord } from '../../lambdas/core/record/conversation-reader.js';
import { elevenLabsSignature, nowSeconds, samplePayload } from '../fixtures/webhook-requests.js';

const ENVIRONMENT = { ...process.env };
const execFileAsync = promisify(execFile);
const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');

let dataDir: string;
let pipeline: LocalPipeline;
let elevenLabs: FakeElevenLabsApi;

/** The three samples as one new conversation "now"; the transcript made large enough to be offloaded to S3. */
const conversationId = `conv_pipeline_${Date.now()}`;
const failureConversationId = `conv_pipeline_failure_${Date.now()}`;
const forgedConversationId = `conv_pipeline_forged_${Date.now()}`;

function retimed(type: 'post_call_transcription' | 'post_call_audio' | 'call_initiation_failure', id: string, change?: (data: Record<string, unknown>) => void): Buffer {
  const payload = JSON.parse(samplePayload(type).toString('utf8')) as { event_timestamp: number; data: Record<string, unknown> };
  payload.event_timestamp = nowSeconds();
  payload.data.conversation_id = id;
  const metadata = payload.data.metadata as Record<string, unknown> | undefined;
  if (metadata !== undefined) metadata.start_time_unix_secs = nowSeconds() - 60;
  change?.(payload.data);
  return Buffer.from(JSON.stringify(payload), 'utf8');
}

const largeTranscription = retimed('post_call_transcription', conversationId, (data) => {
  const turns = data.transcript as Array<Record<string, unknown>>;
  // ~400 KB of turns: more than DynamoDB's item budget, so the consumer moves the transcript to S3.
  data.transcript = Array.from({ length: 400 }, (_, index) => ({ ...turns[index % turns.length], message: `turn ${index} ${'words '.repeat(170)}` }));
});
const audio = retimed('post_call_audio', conversationId);
const failure = retimed('call_initiation_failure', failureConversationId);

async function post(body: Buffer, options: { secret?: string; contentType?: string } = {}): Promise<{ status: number; body: string }> {
  const response = await fetch(pipeline.endpoints.webhookUrl, {
    method: 'POST',
    headers: { 'content-type': options.contentType ?? 'application/json', 'ElevenLabs-Signature': elevenLabsSignature(body, options.secret ?? pipeline.webhookSecret.secret, nowSeconds()) },
    body,
  });
  return { status: response.status, body: await response.text() };
}

/** Runs `conversations` in-process with an environment pointing at this test's pipeline. */
async function conversations(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CommandIo = {
    stdout: { write: (chunk) => ((stdout += chunk.toString()), true) },
    stderr: { write: (chunk) => ((stderr += chunk.toString()), true) },
    env: { LOCAL_DATA_DIR: dataDir },
  };
  const code = await runConversations(args, io);
  return { code, stdout, stderr };
}

async function waitForRecord(id: string, ready: (record: ConversationRecord) => boolean = () => true): Promise<ConversationRecord> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const result = await conversations(['get', id, '--local', '--json']);
    if (result.code === 0) {
      const record = JSON.parse(result.stdout) as ConversationRecord;
      if (ready(record)) return record;
    }
    if (Date.now() > deadline) throw new Error(`record ${id} did not appear: ${result.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'local-pipeline-'));
  elevenLabs = await startFakeElevenLabsApi({ count: 5, seed: 7 });
  // With an API key the poller runs at start (and then every POLL_INTERVAL), reading the key through the local
  // Secrets Manager stand-in.
  const env = { ELEVENLABS_API_KEY: FAKE_API_KEY, ELEVENLABS_API_BASE_URL: elevenLabs.url, POLL_INTERVAL: '3600' };
  pipeline = await startLocalPipeline({ dataDir, port: 0, env, handlerLogLevel: 'SILENT', receiveWaitTimeSeconds: 1 });
});

afterAll(async () => {
  await pipeline?.stop();
  await elevenLabs?.stop();
  process.env = { ...ENVIRONMENT };
  await rm(dataDir, { recursive: true, force: true });
});

describe('the local pipeline', () => {
  it('generates a webhook secret once and keeps it readable by its owner only', async () => {
    // Prepare / Act: done by the start in beforeAll

    // Assess
    expect(pipeline.webhookSecret.source).toBe('generated');
    expect(pipeline.webhookSecret.secret).toMatch(/^wsec_[0-9a-f]{64}$/);
    expect((await readFile(join(dataDir, 'webhook-secret'), 'utf8')).trim()).toBe(pipeline.webhookSecret.secret);
    expect((await stat(join(dataDir, 'webhook-secret'))).mode & 0o777).toBe(0o600);
  });

  it('serves the handlers’ secrets to the handlers only, not to any local client', async () => {
    // Prepare
    const stranger = new SecretsManagerClient({ endpoint: pipeline.endpoints.secretsManagerEndpoint, region: 'us-east-1', credentials: emulatorCredentials });

    // Act
    const answer = await stranger.send(new GetSecretValueCommand({ SecretId: 'local/elevenlabs-webhook-secret' })).catch((error: unknown) => error);
    stranger.destroy();

    // Assess
    expect(answer).toBeInstanceOf(Error);
    expect((answer as Error).name).toBe('UnrecognizedClientException');
  });

  it('stores all three post-call event types posted as signed webhooks over HTTP, and rejects a forged one with 400', async () => {
    // Prepare
    const forged = retimed('call_initiation_failure', forgedConversationId);

    // Act
    const answers = {
      transcription: await post(largeTranscription),
      // Sent as binary: API Gateway base64-encodes it, the receiver verifies the decoded bytes.
      audio: await post(audio, { contentType: 'application/octet-stream' }),
      failure: await post(failure),
      forged: await post(forged, { secret: 'wsec_not_the_configured_secret' }),
    };

    // Assess
    expect(answers.transcription).toEqual({ status: 200, body: '{"status":"accepted"}' });
    expect(answers.audio).toEqual({ status: 200, body: '{"status":"accepted"}' });
    expect(answers.failure).toEqual({ status: 200, body: '{"status":"accepted"}' });
    expect(answers.forged).toEqual({ status: 400, body: '{"error":"invalid_signature"}' });
    const record = await waitForRecord(conversationId, (stored) => stored.audio !== undefined && stored.transcript !== undefined);
    expect(record.transcript_location).toBe('s3');
    expect(record.transcript).toHaveLength(400);
    expect(record.event_types).toEqual(['post_call_audio', 'post_call_transcription']);
    const failed = await waitForRecord(failureConversationId);
    expect(failed.status).toBe('failed');
    expect((await conversations(['get', forgedConversationId, '--local', '--json'])).code).toBe(2);
  });

  it('runs the poller when ELEVENLABS_API_KEY is set, back-filling the account’s conversations', async () => {
    // Prepare
    const expected = elevenLabs.conversationIds().sort();

    // Act: the poller's first run started with the pipeline
    const deadline = Date.now() + 20_000;
    let listed: ConversationRecord[] = [];
    while (Date.now() < deadline) {
      const run = await conversations(['list', '--local', '--json', '--since', String(nowSeconds() - 2 * 86_400)]);
      listed = run.stdout.trim() === '' ? [] : run.stdout.trim().split('\n').map((line) => JSON.parse(line) as ConversationRecord);
      if (listed.filter((record) => record.sources.includes('poller')).length === expected.length) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // Assess
    expect(pipeline.poller).toEqual({ enabled: true, intervalSecs: 3600 });
    expect(listed.filter((record) => record.sources.includes('poller')).map((record) => record.conversation_id).sort()).toEqual(expected);
  });

  it('is readable with the real `conversations get --local --json` command in another process', async () => {
    // Prepare
    await waitForRecord(conversationId, (stored) => stored.audio !== undefined);

    // Act
    const { stdout } = await execFileAsync(TSX, ['bin/conversations.ts', 'get', conversationId, '--local', '--json'], {
      env: { PATH: process.env.PATH, LOCAL_DATA_DIR: dataDir, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });

    // Assess
    const record = JSON.parse(stdout) as ConversationRecord;
    expect(record.conversation_id).toBe(conversationId);
    expect(record.transcript).toHaveLength(400);
  });

  it('keeps records, offloaded transcripts, audio and queued messages across a restart on the same data dir', async () => {
    // Prepare: a message the consumer cannot decode stays in the queue (until its receives run out)
    const before = await waitForRecord(conversationId, (stored) => stored.audio !== undefined);
    const audioBefore = await conversations(['audio', conversationId, '--local', '--out', join(dataDir, 'before.mp3')]);
    const sqs = new SQSClient({ endpoint: pipeline.endpoints.sqsS3Endpoint, region: pipeline.endpoints.region, credentials: emulatorCredentials });
    await sqs.send(new SendMessageCommand({ QueueUrl: pipeline.endpoints.queueUrl, MessageBody: 'not a queued event' }));
    sqs.destroy();
    const ports = pipeline.ports;

    // Act
    await pipeline.stop();
    const endpointsFileAfterStop = await stat(localEndpointsFile(dataDir)).then(
      () => 'present',
      () => 'removed',
    );
    const savedQueue = JSON.parse(await readFile(join(dataDir, 'sqs', 'ingest.json'), 'utf8')) as unknown[];
    // The handlers keep the configuration they read at their first import: restart on the same ports, as `npm start` does.
    pipeline = await startLocalPipeline({ dataDir, port: 0, ports, env: {}, handlerLogLevel: 'SILENT', receiveWaitTimeSeconds: 1 });

    // Assess
    expect(endpointsFileAfterStop).toBe('removed');
    expect(savedQueue).toHaveLength(1);
    expect(pipeline.webhookSecret.source).toBe('data-dir');
    expect(pipeline.restored.objects).toBeGreaterThanOrEqual(4); // archive ×3, offloaded transcript, audio
    expect(pipeline.restored.queuedMessages).toBe(1);
    const after = await waitForRecord(conversationId);
    expect(after).toEqual(before);
    expect(after.transcript).toHaveLength(400);
    const audioAfter = await conversations(['audio', conversationId, '--local', '--out', join(dataDir, 'after.mp3')]);
    expect([audioBefore.code, audioAfter.code]).toEqual([0, 0]);
    expect(await readFile(join(dataDir, 'after.mp3'))).toEqual(await readFile(join(dataDir, 'before.mp3')));
    const sqsAfter = new SQSClient({ endpoint: pipeline.endpoints.sqsS3Endpoint, region: pipeline.endpoints.region, credentials: emulatorCredentials });
    const { Attributes } = await sqsAfter.send(new GetQueueAttributesCommand({ QueueUrl: pipeline.endpoints.queueUrl, AttributeNames: ['All'] }));
    sqsAfter.destroy();
    expect(Number(Attributes?.ApproximateNumberOfMessages) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible)).toBe(1);
  });
});

describe('the HTTP API stand-in', () => {
  it('builds the payload-2.0 event API Gateway builds: lower-case headers, cookies apart, query parameters, base64 for binary', () => {
    // Prepare
    const body = Buffer.from([0xff, 0x00, 0x7b]);

    // Act
    const event = toHttpApiEvent({
      method: 'POST',
      url: '/webhooks/elevenlabs?a=1&a=2',
      headers: { 'Content-Type': ['application/octet-stream'], 'X-Repeated': ['one', 'two'], cookie: ['c1=v1; c2=v2'], host: ['127.0.0.1:3000'] },
      body,
      sourceIp: '127.0.0.1',
      receivedAt: new Date('2026-11-23T07:40:01.250Z'),
      requestId: 'req-1',
    });

    // Assess
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /webhooks/elevenlabs',
      rawPath: '/webhooks/elevenlabs',
      rawQueryString: 'a=1&a=2',
      queryStringParameters: { a: '1,2' },
      cookies: ['c1=v1', 'c2=v2'],
      headers: { 'content-type': 'application/octet-stream', 'x-repeated': 'one,two', host: '127.0.0.1:3000' },
      isBase64Encoded: true,
      body: body.toString('base64'),
      requestContext: { http: { method: 'POST', path: '/webhooks/elevenlabs', sourceIp: '127.0.0.1' }, stage: '$default', time: '23/Nov/2026:07:40:01 +0000', timeEpoch: Date.parse('2026-11-23T07:40:01.250Z') },
    });
    expect(event.headers.cookie).toBeUndefined();
  });

  it('passes JSON bodies as text and leaves `body` out when there is none', () => {
    // Prepare
    const common = { method: 'POST', url: '/webhooks/elevenlabs', sourceIp: '127.0.0.1', receivedAt: new Date(), requestId: 'req-2' };

    // Act
    const json = toHttpApiEvent({ ...common, headers: { 'content-type': ['application/json; charset=utf-8'] }, body: Buffer.from('{"a":"é"}') });
    const empty = toHttpApiEvent({ ...common, headers: {}, body: Buffer.alloc(0) });

    // Assess
    expect(json).toMatchObject({ body: '{"a":"é"}', isBase64Encoded: false });
    expect(empty.body).toBeUndefined();
    expect(empty.isBase64Encoded).toBe(false);
  });

  it('answers 404 off the webhook route and 413 above API Gateway’s 10 MB limit, as API Gateway does', async () => {
    // Prepare
    const base = new URL(pipeline.endpoints.webhookUrl);

    // Act
    const wrongPath = await fetch(new URL('/webhooks/other', base), { method: 'POST', body: '{}' });
    const wrongMethod = await fetch(base, { method: 'GET' });
    const tooLarge = await fetch(base, { method: 'POST', body: Buffer.alloc(MAX_REQUEST_BODY_BYTES + 1, 0x20) }).catch((error: unknown) => error);

    // Assess
    expect([wrongPath.status, await wrongPath.json()]).toEqual([404, { message: 'Not Found' }]);
    expect(wrongMethod.status).toBe(404);
    // The server answers before reading the body and closes the connection; fetch may see either.
    if (tooLarge instanceof Response) expect(tooLarge.status).toBe(413);
    else expect(tooLarge).toBeInstanceOf(Error);
  });

  it('never invokes the handler with an event over Lambda’s 6,291,456-byte invoke limit, and answers 413 as API Gateway does', async () => {
    // Prepare: a stand-in whose handler counts what reaches it; audio webhooks of a 5 MiB and a 4 MiB MP3.
    const reached: number[] = [];
    const httpApi = await startLocalHttpApi({ port: 0, handler: async (event) => (reached.push(Buffer.byteLength(JSON.stringify(event))), { statusCode: 200, body: '{"status":"accepted"}' }) });
    const audioWebhook = (mp3Bytes: number) => Buffer.from(JSON.stringify({ type: 'post_call_audio', event_timestamp: nowSeconds(), data: { conversation_id: 'c', full_audio: Buffer.alloc(mp3Bytes, 1).toString('base64') } }));
    const send = async (body: Buffer) => {
      const response = await fetch(httpApi.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return { status: response.status, body: await response.json() as unknown };
    };

    // Act
    const fiveMiB = await send(audioWebhook(5 * 1024 * 1024));
    const fourMiB = await send(audioWebhook(4 * 1024 * 1024));
    await httpApi.stop();

    // Assess
    expect(fiveMiB).toEqual({ status: 413, body: { message: 'Request Too Long' } });
    expect(fourMiB.status).toBe(200);
    expect(reached).toHaveLength(1);
    expect(reached[0]).toBeLessThan(AWS_LIMITS.lambdaSyncInvokeMaxBytes);
  });
});
