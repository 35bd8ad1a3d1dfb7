/**
 * The real receiver handler (module-scope config, clients and secret cache) against fauxqs (SQS + S3 over HTTP), with
 * Secrets Manager mocked at the SDK client.
 */
import { createHmac } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { DeleteBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DeleteMessageCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeQueuedEvent, type QueuedEvent } from '../../lambdas/core/ingest/queued-event.js';
import type { ReceiverHandler } from '../../lambdas/receiver/receive-webhook.js';
import { captureOutput, type CapturedOutput } from '../fixtures/output-capture.js';
import {
  ELEVENLABS_SOURCE_IP,
  SAMPLE_EVENT_TYPES,
  apiGatewayEvent,
  elevenLabsSignature,
  largeAudioPayload,
  nowSeconds,
  samplePayload,
  signedWebhookEvent,
} from '../fixtures/webhook-requests.js';
import { emulatorCredentials, startSqsS3Emulator, type SqsS3Emulator } from '../support/emulators.js';

const BUCKET = 'receiver-conversations';
const QUEUE = 'receiver-ingest';
const SECRET_NAME = 'elevenlabs/webhook-secret';
const CURRENT_SECRET = 'wsec_integration_current_6f1d2c3b4a59';
const NEXT_SECRET = 'wsec_integration_next_0a9b8c7d6e5f';
const ENVIRONMENT = { ...process.env };

const secretsManager = mockClient(SecretsManagerClient);
let secretValue = CURRENT_SECRET;

let emulator: SqsS3Emulator;
let queueUrl: string;
let handler: ReceiverHandler;
let output: CapturedOutput;

beforeAll(async () => {
  emulator = await startSqsS3Emulator();
  emulator.server.createBucket(BUCKET);
  queueUrl = emulator.server.createQueue(QUEUE).queueUrl;
  // fauxqs names queues `http://sqs.<region>.127.0.0.1:<port>/…`, a host WHATWG URL rejects: the SDK's queue-URL
  // middleware warns with that TypeError on every call, then uses the configured endpoint. Only that warning is muted.
  const warn = console.warn.bind(console);
  vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
    const [first] = args;
    if (first instanceof TypeError && (first as TypeError & { code?: string }).code === 'ERR_INVALID_URL') return;
    warn(...args);
  });
  secretsManager.on(GetSecretValueCommand, { SecretId: SECRET_NAME }).callsFake(() => ({ Name: SECRET_NAME, SecretString: secretValue }));
  // What the stack gives the function; it must be in place before the handler module initialises.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SQS: emulator.endpoint,
    AWS_ENDPOINT_URL_S3: emulator.endpoint,
    AWS_ACCESS_KEY_ID: emulatorCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: emulatorCredentials.secretAccessKey,
    WEBHOOK_SECRET_NAME: SECRET_NAME,
    INGEST_QUEUE_URL: queueUrl,
    CONVERSATION_BUCKET_NAME: BUCKET,
    SIGNATURE_MAX_FUTURE_SKEW_SECS: '300',
    SECRET_CACHE_TTL_SECS: '300',
    ALLOWED_SOURCE_IPS: `${ELEVENLABS_SOURCE_IP}, 34.59.11.47`,
    POWERTOOLS_SERVICE_NAME: 'receiver',
    POWERTOOLS_LOG_LEVEL: 'INFO',
  });
  output = captureOutput();
  ({ handler } = await import('../../lambdas/receiver/handler.js'));
});

afterAll(async () => {
  output?.restore();
  vi.useRealTimers();
  vi.restoreAllMocks();
  secretsManager.restore();
  process.env = { ...ENVIRONMENT };
  await emulator?.stop();
});

/** Receives (and deletes) everything in the queue, over the SQS wire protocol. */
async function drainQueue(): Promise<Message[]> {
  const messages: Message[] = [];
  for (;;) {
    const { Messages = [] } = await emulator.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }),
    );
    if (Messages.length === 0) return messages;
    for (const message of Messages) {
      messages.push(message);
      await emulator.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
}

function queueDepth(): number {
  const queue = emulator.server.inspectQueue(QUEUE);
  if (queue === undefined) return 0;
  return queue.messages.ready.length + queue.messages.delayed.length + queue.messages.inflight.length;
}

async function archiveKeys(): Promise<string[]> {
  const { Contents = [] } = await emulator.s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  return Contents.flatMap(({ Key }) => (Key === undefined ? [] : [Key]));
}

async function gunzippedObject(key: string): Promise<Buffer> {
  const response = await emulator.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return gunzipSync(await (response.Body?.transformToByteArray() ?? Promise.resolve(new Uint8Array())));
}

function decoded(message: Message): QueuedEvent {
  const messageAttributes = Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, { dataType: value.DataType ?? 'String', stringValue: value.StringValue }]),
  );
  return decodeQueuedEvent({ body: message.Body ?? '', messageAttributes });
}

async function resetStorage(): Promise<void> {
  await drainQueue();
  emulator.server.emptyBucket(BUCKET);
}

const ACCEPTED = { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"status":"accepted"}' };

describe('a genuine delivery', () => {
  beforeEach(resetStorage);

  it('is answered exactly 200 and queued once, byte-identical, after its archive is stored', async () => {
    // Prepare: the sample transcription, signed exactly as ElevenLabs signs (t=<seconds>,v0=<hex HMAC of "t.body">)
    const body = samplePayload('post_call_transcription');
    const event = signedWebhookEvent(body, CURRENT_SECRET, { headerName: 'ElevenLabs-Signature' });

    // Act
    const response = await handler(event);

    // Assess
    expect(response).toEqual(ACCEPTED);
    const messages = await drainQueue();
    expect(messages).toHaveLength(1);
    const queued = decoded(messages[0] as Message);
    expect(queued.body.location).toBe('inline');
    expect(Buffer.from(messages[0]?.Body ?? '', 'utf8').equals(body)).toBe(true);
    expect(queued.attributes).toMatchObject({ eventType: 'post_call_transcription', conversationId: 'conv_01jz9a7b6c5d4e3f2g1h0j9k8m', source: 'webhook' });
    expect(await archiveKeys()).toEqual([queued.attributes.archiveKey]);
    expect((await gunzippedObject(queued.attributes.archiveKey)).equals(body)).toBe(true);
    const head = await emulator.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: queued.attributes.archiveKey }));
    // (fauxqs does not keep Content-Encoding; test/unit/publish-event.test.ts pins that header on the PutObject.)
    expect(head.ContentType).toBe('application/json');
    expect(secretsManager.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({ SecretId: SECRET_NAME });
  });

  it.each([...SAMPLE_EVENT_TYPES])('accepts the %s sample payload', async (type) => {
    // Prepare
    const body = samplePayload(type);

    // Act
    const response = await handler(signedWebhookEvent(body, CURRENT_SECRET));

    // Assess
    expect(response).toEqual(ACCEPTED);
    const messages = await drainQueue();
    expect(messages.map((message) => decoded(message).attributes.eventType)).toEqual([type]);
    expect(messages[0]?.Body).toBe(body.toString('utf8'));
  });

  it('accepts and publishes an event type it has never seen', async () => {
    // Prepare
    const body = '{"type":"post_call_sentiment","event_timestamp":1767268931,"data":{"agent_id":"agent_x","conversation_id":"conv_unknown_type","score":0.9}}';

    // Act
    const response = await handler(signedWebhookEvent(body, CURRENT_SECRET));

    // Assess
    expect(response).toEqual(ACCEPTED);
    const messages = await drainQueue();
    expect(messages).toHaveLength(1);
    expect(decoded(messages[0] as Message).attributes).toMatchObject({ eventType: 'post_call_sentiment', conversationId: 'conv_unknown_type' });
    expect(messages[0]?.Body).toBe(body);
  });

  it.each([
    ['base64-encoded by API Gateway', true],
    ['as plain text', false],
  ])('delivers a 5 MB post_call_audio sent %s through an S3 claim check that gunzips byte-identical', async (_case, base64) => {
    // Prepare
    const { body } = largeAudioPayload(5_000_000, `conv_large_${String(base64)}`);
    const event = signedWebhookEvent(body, CURRENT_SECRET, { base64 });

    // Act
    const response = await handler(event);

    // Assess
    expect(response).toEqual(ACCEPTED);
    const messages = await drainQueue();
    expect(messages).toHaveLength(1);
    const queued = decoded(messages[0] as Message);
    expect(queued.body).toEqual({ location: 's3', claimCheck: { bucket: BUCKET, key: queued.attributes.archiveKey, encoding: 'gzip' } });
    expect((await gunzippedObject(queued.attributes.archiveKey)).equals(body)).toBe(true);
  });
});

describe('a bad request', () => {
  const valid = samplePayload('post_call_audio').toString('utf8');
  const signed = (body: string, secret = CURRENT_SECRET, timestamp = nowSeconds()) => elevenLabsSignature(body, secret, timestamp);
  const withHeader = (body: string, header: string) => apiGatewayEvent({ body, headers: { 'elevenlabs-signature': header } });
  const signedBody = (body: string) => signedWebhookEvent(body, CURRENT_SECRET);
  const validHash = () => signed(valid).split('v0=')[1] ?? '';

  const cases: Array<[string, string, () => APIGatewayProxyEventV2]> = [
    ['no signature header', 'missing_signature', () => apiGatewayEvent({ body: valid })],
    ['a signature header without t= or v0=', 'malformed_signature', () => withHeader(valid, 'garbage')],
    ['a signature without a timestamp', 'malformed_signature', () => withHeader(valid, `v0=${validHash()}`)],
    ['a signature without a v0 hash', 'malformed_signature', () => withHeader(valid, `t=${nowSeconds()}`)],
    ['a non-numeric timestamp', 'malformed_signature', () => withHeader(valid, `t=yesterday,v0=${validHash()}`)],
    ['an empty timestamp', 'malformed_signature', () => withHeader(valid, `t=,v0=${validHash()}`)],
    ['only a v1 hash', 'malformed_signature', () => withHeader(valid, `t=${nowSeconds()},v1=${validHash()}`)],
    ['a GitHub-style sha256= header', 'malformed_signature', () => withHeader(valid, `sha256=${validHash()}`)],
    ['a timestamp older than 30 minutes', 'stale_timestamp', () => withHeader(valid, signed(valid, CURRENT_SECRET, nowSeconds() - 31 * 60))],
    ['a timestamp in milliseconds (far future)', 'future_timestamp', () => withHeader(valid, signed(valid, CURRENT_SECRET, Date.now()))],
    ['a timestamp beyond the allowed future skew', 'future_timestamp', () => withHeader(valid, signed(valid, CURRENT_SECRET, nowSeconds() + 600))],
    ['a signature made with another secret', 'invalid_signature', () => withHeader(valid, signed(valid, 'wsec_attacker_guess'))],
    ['a tampered body', 'invalid_signature', () => withHeader(valid.replace('conv_', 'conv_x'), signed(valid))],
    ['a hash for another timestamp', 'invalid_signature', () => withHeader(valid, `t=${nowSeconds() - 5},v0=${validHash()}`)],
    ['a hash of the body alone, without "t."', 'invalid_signature', () => withHeader(valid, `t=${nowSeconds()},v0=${createHmac('sha256', CURRENT_SECRET).update(valid).digest('hex')}`)],
    ['a signed body that is not JSON', 'body_not_json', () => signedBody('type=post_call_audio&data=1')],
    ['a signed, truncated JSON body', 'body_not_json', () => signedBody(valid.slice(0, -2))],
    ['a signed JSON array', 'body_not_object', () => signedBody(`[${valid}]`)],
    ['a signed JSON string', 'body_not_object', () => signedBody('"post_call_audio"')],
    ['a signed JSON null', 'body_not_object', () => signedBody('null')],
    ['a signed envelope nested 10,000 levels deep', 'body_too_deep', () => signedBody(`{"type":"post_call_audio","data":{"deep":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`)],
    ['a signed envelope without type', 'missing_type', () => signedBody('{"event_timestamp":1,"data":{"conversation_id":"c"}}')],
    ['a signed envelope with an empty type', 'missing_type', () => signedBody('{"type":"","data":{"conversation_id":"c"}}')],
    ['a signed envelope with a numeric type', 'missing_type', () => signedBody('{"type":7,"data":{"conversation_id":"c"}}')],
    ['a signed envelope without data', 'missing_data', () => signedBody('{"type":"post_call_audio","event_timestamp":1}')],
    ['a signed envelope whose data is a string', 'missing_data', () => signedBody('{"type":"post_call_audio","data":"audio"}')],
    ['a signed envelope whose data is an array', 'missing_data', () => signedBody('{"type":"post_call_audio","data":[]}')],
    ['a signed envelope whose data is null', 'missing_data', () => signedBody('{"type":"post_call_audio","data":null}')],
    ['a signed empty body', 'empty_body', () => signedBody('')],
    ['no body at all', 'empty_body', () => apiGatewayEvent({ headers: { 'elevenlabs-signature': signed('') } })],
    ['a body flagged base64 that is not base64', 'body_not_base64', () => apiGatewayEvent({ rawBodyField: '{"type":"x"}', base64: true, headers: { 'elevenlabs-signature': signed('{"type":"x"}') } })],
    ['a GET', 'method_not_allowed', () => signedWebhookEvent(valid, CURRENT_SECRET, { method: 'GET' })],
    ['a source IP outside the allow-list', 'source_ip_not_allowed', () => signedWebhookEvent(valid, CURRENT_SECRET, { sourceIp: '203.0.113.7' })],
    ['a body over 6 MiB', 'body_too_large', () => apiGatewayEvent({ body: 'x'.repeat(6 * 1024 * 1024 + 1), headers: { 'elevenlabs-signature': signed('x') } })],
  ];

  beforeAll(resetStorage);

  it(`has at least 25 distinct cases (${cases.length})`, () => {
    expect(new Set(cases.map(([name]) => name)).size).toBe(cases.length);
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  it.each(cases)('answers 400 for %s with reason %s', async (_case, reason, makeEvent) => {
    // Act
    const response = await handler(makeEvent());

    // Assess
    expect(response).toEqual({ statusCode: 400, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: reason }) });
  });

  it('stored nothing for any of them', async () => {
    // Assess
    expect(queueDepth()).toBe(0);
    expect(await archiveKeys()).toEqual([]);
  });
});

describe('when our storage fails', () => {
  beforeEach(resetStorage);

  it('answers 500 storage_unavailable and queues nothing when the queue is gone', async () => {
    // Prepare
    emulator.server.deleteQueue(QUEUE);

    // Act
    let response: Awaited<ReturnType<ReceiverHandler>>;
    try {
      response = await handler(signedWebhookEvent(samplePayload('post_call_transcription'), CURRENT_SECRET));
    } finally {
      emulator.server.createQueue(QUEUE);
    }

    // Assess
    expect(response).toEqual({ statusCode: 500, headers: { 'content-type': 'application/json' }, body: '{"error":"storage_unavailable"}' });
    expect(queueDepth()).toBe(0);
    // The queue is usable again: the next delivery goes through.
    expect(await handler(signedWebhookEvent(samplePayload('post_call_audio'), CURRENT_SECRET))).toEqual(ACCEPTED);
    expect(await drainQueue()).toHaveLength(1);
  });

  it('answers 500 storage_unavailable and sends no message when the archive bucket is gone', async () => {
    // Prepare
    await emulator.s3.send(new DeleteBucketCommand({ Bucket: BUCKET }));

    // Act
    let response: Awaited<ReturnType<ReceiverHandler>>;
    try {
      response = await handler(signedWebhookEvent(samplePayload('post_call_transcription'), CURRENT_SECRET));
    } finally {
      emulator.server.createBucket(BUCKET);
    }

    // Assess
    expect(response).toEqual({ statusCode: 500, headers: { 'content-type': 'application/json' }, body: '{"error":"storage_unavailable"}' });
    expect(queueDepth()).toBe(0);
    expect(await archiveKeys()).toEqual([]);
  });
});

describe('secret rotation', () => {
  const body = samplePayload('call_initiation_failure');
  let fakeNowMs: number;
  const advance = (seconds: number) => {
    fakeNowMs += seconds * 1000;
    vi.setSystemTime(fakeNowMs);
  };
  const deliver = (secret: string) => handler(signedWebhookEvent(body, secret, { timestampSeconds: Math.floor(fakeNowMs / 1000) }));
  const secretReads = () => secretsManager.commandCalls(GetSecretValueCommand).length;

  beforeAll(async () => {
    await resetStorage();
    // Only Date is faked: the secret cache's clock moves when the test says, sockets and timers stay real.
    vi.useFakeTimers({ toFake: ['Date'] });
    fakeNowMs = Date.now();
    vi.setSystemTime(fakeNowMs);
  });
  afterAll(() => {
    vi.useRealTimers();
  });

  it('accepts both secrets of a JSON array, and a just-rotated secret after one forced refresh', async () => {
    // Prepare: the cache holds the single current secret; the rotation then adds the next one
    expect(await deliver(CURRENT_SECRET)).toEqual(ACCEPTED);
    secretValue = JSON.stringify([NEXT_SECRET, CURRENT_SECRET]);
    advance(60);
    const readsBefore = secretReads();

    // Act
    const withNext = await deliver(NEXT_SECRET);
    const withCurrent = await deliver(CURRENT_SECRET);

    // Assess
    expect(withNext).toEqual(ACCEPTED);
    expect(withCurrent).toEqual(ACCEPTED);
    expect(secretReads()).toBe(readsBefore + 1);
    expect(await drainQueue()).toHaveLength(3);
  });

  it('does not read Secrets Manager per forged request: at most one read per refresh interval', async () => {
    // Prepare
    advance(60);
    const readsBefore = secretReads();

    // Act
    const firstWave = await Promise.all(Array.from({ length: 25 }, () => deliver('wsec_forged')));
    advance(10);
    const secondWave = await Promise.all(Array.from({ length: 25 }, () => deliver('wsec_forged')));
    advance(31);
    const thirdWave = await Promise.all(Array.from({ length: 25 }, () => deliver('wsec_forged')));

    // Assess
    for (const response of [...firstWave, ...secondWave, ...thirdWave]) expect(response.body).toBe('{"error":"invalid_signature"}');
    expect(secretReads()).toBe(readsBefore + 2);
    expect(queueDepth()).toBe(0);
  });

  it('stops accepting the old secret once the rotation removes it and the cache expires', async () => {
    // Prepare
    secretValue = NEXT_SECRET;
    advance(301);

    // Act
    const withOld = await deliver(CURRENT_SECRET);
    const withNext = await deliver(NEXT_SECRET);

    // Assess
    expect(withOld.body).toBe('{"error":"invalid_signature"}');
    expect(withNext).toEqual(ACCEPTED);
    expect(await drainQueue()).toHaveLength(1);
  });
});

describe('logging', () => {
  it('logs identifiers, and never a body, a signature, a secret or a phone number', () => {
    // Prepare
    const text = output.text();
    const transcription = samplePayload('post_call_transcription').toString('utf8');

    // Assess: the handler did log (so the absence checks below mean something)
    expect(text).toContain('"conversation_id":"conv_01jz9a7b6c5d4e3f2g1h0j9k8m"');
    expect(text).toContain('"event_type":"post_call_transcription"');
    expect(text).toContain('"reason":"invalid_signature"');
    for (const forbidden of [CURRENT_SECRET, NEXT_SECRET, '+15555550199', '+15555550100', 'Riverside Dental', transcription.slice(0, 60), 'SUQzBAAAAAAAAP', 'v0=']) {
      expect(text, `log output contains ${forbidden.slice(0, 12)}…`).not.toContain(forbidden);
    }
  });
});
