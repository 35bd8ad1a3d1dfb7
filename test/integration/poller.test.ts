/**
 * The poller against a fake ElevenLabs API (HTTP), dynalite (conversations + state tables) and fauxqs (archive bucket
 * + ingest queue). The real handler module (config, clients, Secrets Manager via Powertools, mocked at the SDK client)
 * runs the 10,000-conversation case and the bad-key case; the other cases drive runPoller with the same adapters.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { countingBatchGets, seedRecords } from '../../bin/bench/table-seeding.js';
import { FAKE_API_KEY, startFakeElevenLabsApi, type FakeAccountOptions, type FakeElevenLabsApi } from '../../bin/local/fake-elevenlabs-api.js';
import { findMissingConversationIds, readStoredConversations } from '../../lambdas/core/backfill/conversation-presence.js';
import { ElevenLabsApiClient } from '../../lambdas/core/backfill/elevenlabs-api.js';
import { POLLER_LEASE_ID } from '../../lambdas/core/backfill/poller-lease.js';
import { createWatermarkStore, loadWatermark, saveWatermark } from '../../lambdas/core/backfill/poller-watermark.js';
import { STACK_PLACEHOLDER_EXAMPLE } from '../support/generated-secret.js';
import { createAwsPublishPorts } from '../../lambdas/core/ingest/publish-event.js';
import { POLLER_FIRST_WINDOW_SECS, POLLER_WINDOW_SECS, runPoller, type MetricsSink, type PollerPorts, type PollerRunResult } from '../../lambdas/core/backfill/poller-run.js';
import { createReconcilePorts } from '../../lambdas/core/backfill/reconcile-ports.js';
import { createAwsRecordingArchive } from '../../lambdas/core/backfill/recording-publish.js';
import { captureOutput } from '../fixtures/output-capture.js';
import { createConversationsTable } from '../support/conversation-tables.js';
import { sdkEnvironmentFor, startDynamoDbEmulator, startSqsS3Emulator, type DynamoDbEmulator, type SqsS3Emulator } from '../support/emulators.js';
import { createPollerStateTable, documentClientFor, drainQueue } from '../support/poller-harness.js';

const ENVIRONMENT = { ...process.env };
const BUCKET = 'poller-conversations';
const SETTLE = 600;

const secretsManager = mockClient(SecretsManagerClient);
const secretValues = new Map<string, string>();

let dynamo: DynamoDbEmulator;
let sqsS3: SqsS3Emulator;
let documentClient: DynamoDBDocumentClient;
const fakes: FakeElevenLabsApi[] = [];

beforeAll(async () => {
  [dynamo, sqsS3] = await Promise.all([startDynamoDbEmulator(), startSqsS3Emulator()]);
  documentClient = documentClientFor(dynamo.client);
  sqsS3.server.createBucket(BUCKET);
  // fauxqs queue URLs use a host WHATWG URL rejects; the SDK warns, then uses the endpoint. Only that warning is muted.
  const warn = console.warn.bind(console);
  vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
    const [first] = args;
    if (first instanceof TypeError && (first as TypeError & { code?: string }).code === 'ERR_INVALID_URL') return;
    warn(...args);
  });
  secretsManager.on(GetSecretValueCommand).callsFake((input: { SecretId?: string }) => ({ Name: input.SecretId, SecretString: secretValues.get(input.SecretId ?? '') }));
  Object.assign(process.env, {
    ...sdkEnvironmentFor({ dynamodb: dynamo.endpoint, sqs: sqsS3.endpoint, s3: sqsS3.endpoint }),
    POWERTOOLS_SERVICE_NAME: 'poller',
    POWERTOOLS_LOG_LEVEL: 'WARN',
  });
});

afterAll(async () => {
  await Promise.all(fakes.map((fake) => fake.stop()));
  await Promise.all([dynamo?.stop(), sqsS3?.stop()]);
  vi.restoreAllMocks();
  secretsManager.restore();
  process.env = { ...ENVIRONMENT };
});

async function fakeAccount(options: FakeAccountOptions): Promise<FakeElevenLabsApi> {
  const fake = await startFakeElevenLabsApi(options);
  fakes.push(fake);
  return fake;
}

interface Pipeline {
  readonly tableName: string;
  readonly stateTableName: string;
  readonly queueUrl: string;
}

/** Fresh tables and queue per test, so tests never see each other's data. */
async function freshPipeline(): Promise<Pipeline> {
  const suffix = Math.random().toString(36).slice(2, 10);
  const [tableName, stateTableName, { QueueUrl }] = await Promise.all([
    createConversationsTable(dynamo.client, `conversations-${suffix}`),
    createPollerStateTable(dynamo.client, `poller-state-${suffix}`),
    sqsS3.sqs.send(new CreateQueueCommand({ QueueName: `ingest-${suffix}` })),
  ]);
  return { tableName, stateTableName, queueUrl: QueueUrl ?? '' };
}

/** Marks the given conversations stored with minimal records (what the consumer would have written). */
async function markStored(pipeline: Pipeline, fake: FakeElevenLabsApi, ids: Iterable<string>): Promise<void> {
  const records = [...ids].map((id) => {
    const conversation = fake.conversation(id);
    return { conversation_id: id, transcription_body_sha256: `sha-${id}`, agent_id: conversation.agentId, start_time_unix_secs: conversation.startTimeUnixSecs, status: conversation.status };
  });
  await seedRecords(documentClient, pipeline.tableName, records);
}

/** Every `everyNth` conversation (offset 3) is missing; the rest are stored. Returns the missing ids. */
async function seedAllBut(pipeline: Pipeline, fake: FakeElevenLabsApi, everyNth: number): Promise<Set<string>> {
  const ids = fake.conversationIds();
  const missing = new Set(ids.filter((_, index) => index % everyNth === 3));
  await markStored(
    pipeline,
    fake,
    ids.filter((id) => !missing.has(id)),
  );
  return missing;
}

function metricsRecorder() {
  const recorded: Array<{ name: string; value: number }> = [];
  const sink: MetricsSink = { add: (name, _unit, value) => recorded.push({ name, value }) };
  return { sink, recorded };
}

/** runPoller's ports wired exactly as the handler wires them, but with a fast-retrying client. */
function pollerPorts(
  pipeline: Pipeline,
  fake: FakeElevenLabsApi,
  options: { apiKey?: string; metrics?: MetricsSink; conversationsClient?: DynamoDBDocumentClient } = {},
): PollerPorts {
  const storage = {
    documentClient: options.conversationsClient ?? documentClient,
    conversationsTableName: pipeline.tableName,
    publishPorts: createAwsPublishPorts(sqsS3.s3, sqsS3.sqs, BUCKET, pipeline.queueUrl),
    recordingArchive: createAwsRecordingArchive(sqsS3.s3, BUCKET),
  };
  return {
    ...createReconcilePorts(storage, new ElevenLabsApiClient({ apiKey: options.apiKey ?? FAKE_API_KEY, baseUrl: fake.url, baseDelayMs: 5, maxDelayMs: 50 })),
    watermark: createWatermarkStore(documentClient, pipeline.stateTableName),
    metrics: options.metrics ?? metricsRecorder().sink,
  };
}

const POLLER_SETTINGS = { settleDelaySecs: SETTLE, overlapSecs: 3600, initialLookbackSecs: 86_400, backfillRecordings: false };

/**
 * The lower bound of list calls for a run over [after, before) in the poller's windows: ⌈n / 100⌉ per window of n
 * conversations (one call for an empty one). The poller asks each window one second wider at its start; the fake's
 * after-bound is exclusive and its before-bound inclusive, so a window lists starts in [start − 1 + 1, end].
 */
function listCallsFor(fake: FakeElevenLabsApi, after: number, before: number): number {
  const starts = fake.conversations().map((conversation) => conversation.startTimeUnixSecs);
  let calls = 0;
  // Windows of 5 min, doubling up to an hour (a run with time to spare is never cut shorter).
  for (let start = after, secs = POLLER_FIRST_WINDOW_SECS; start < before; start += secs, secs = Math.min(POLLER_WINDOW_SECS, 2 * secs)) {
    const end = Math.min(before, start + secs);
    calls += Math.max(1, Math.ceil(starts.filter((at) => at >= start && at <= end).length / 100));
  }
  return calls;
}

function lambdaContext(remainingMs = 290_000): Context {
  return {
    functionName: 'poller',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:poller',
    memoryLimitInMB: '512',
    awsRequestId: `request-${Math.random().toString(36).slice(2)}`,
    getRemainingTimeInMillis: () => remainingMs,
  } as unknown as Context;
}

type PollerHandler = (event: unknown, context: Context) => Promise<PollerRunResult | { skipped: string }>;

/** Imports a fresh copy of the handler module with this function environment (config is read at module init). */
async function loadHandler(pipeline: Pipeline, fake: FakeElevenLabsApi, secretName: string): Promise<PollerHandler> {
  Object.assign(process.env, {
    CONVERSATIONS_TABLE_NAME: pipeline.tableName,
    POLLER_STATE_TABLE_NAME: pipeline.stateTableName,
    INGEST_QUEUE_URL: pipeline.queueUrl,
    CONVERSATION_BUCKET_NAME: BUCKET,
    ELEVENLABS_API_KEY_SECRET_NAME: secretName,
    ELEVENLABS_API_BASE_URL: fake.url,
    POLLER_SETTLE_DELAY_SECS: String(SETTLE),
    POLLER_OVERLAP_SECS: '3600',
    POLLER_INITIAL_LOOKBACK_SECS: '86400',
    POLLER_BACKFILL_RECORDINGS: 'false',
    SECRET_CACHE_TTL_SECS: '300',
  });
  vi.resetModules();
  const module = (await import('../../lambdas/poller/handler.js')) as { handler: PollerHandler };
  return module.handler;
}

async function storedWatermark(pipeline: Pipeline): Promise<number | undefined> {
  return (await loadWatermark(documentClient, pipeline.stateTableName))?.watermarkUnixSecs;
}

describe('the poller handler on a 10,000-conversation account', () => {
  it('publishes exactly the 1,000 missing conversations with ⌈N/100⌉ list calls and one detail call per missing one', async () => {
    // Prepare
    const fake = await fakeAccount({ count: 10_000, seed: 42 });
    const pipeline = await freshPipeline();
    const seedStarted = performance.now();
    const missing = await seedAllBut(pipeline, fake, 10);
    const seedMs = performance.now() - seedStarted;
    secretValues.set('elevenlabs/api-key-10k', FAKE_API_KEY);
    const handler = await loadHandler(pipeline, fake, 'elevenlabs/api-key-10k');
    fake.resetCounters();

    // Act
    const runStarted = performance.now();
    const result = await handler({}, lambdaContext());
    const runMs = performance.now() - runStarted;
    if ('skipped' in result) throw new Error(`the run was skipped: ${result.skipped}`);
    const messages = await drainQueue(sqsS3.sqs, pipeline.queueUrl);

    // Assess
    expect(missing.size).toBe(1000);
    expect(result.summary).toMatchObject({ listed: 10_000, alreadyStored: 9000, missing: 1000, backfilled: 1000, errors: 0, complete: true });
    // ⌈N/100⌉ per window: 10,000 conversations over 12 h take 121 list calls, not 100.
    expect(fake.calls.list).toBe(listCallsFor(fake, result.after, result.before));
    expect(fake.calls.get).toBe(1000);
    expect(fake.calls.audio).toBe(0);
    const publishedIds = messages.map((message) => message.attributes.conversationId);
    expect(messages).toHaveLength(1000);
    expect(new Set(publishedIds).size).toBe(1000);
    expect(new Set(publishedIds)).toEqual(missing);
    expect(messages.every((message) => message.attributes.source === 'poller' && message.attributes.eventType === 'post_call_transcription')).toBe(true);
    const sample = messages[0];
    if (sample?.body.location !== 'inline') throw new Error('expected an inline body');
    const sampleId = sample.attributes.conversationId as string;
    const body = new TextDecoder().decode(fake.conversationBody(sampleId));
    expect(sample.body.rawBody).toBe(`{"type":"post_call_transcription","event_timestamp":${sample.attributes.eventTimestamp},"data":${body}}`);
    expect(result.watermarkSaved).toBe(true);
    expect(await storedWatermark(pipeline)).toBe(result.watermark);
    expect(result.watermark).toBe(result.before - SETTLE);
    console.info(`[poller 10k] seeded 9,000 records in ${Math.round(seedMs)} ms; run ${Math.round(runMs)} ms; API calls ${JSON.stringify(fake.calls)}`);
  });
});

describe('the poller handler with a bad API key', () => {
  it('fails the run with the clear 401 error, counts PollerRunFailed, publishes nothing, keeps the watermark, never logs the key', async () => {
    // Prepare
    const fake = await fakeAccount({ count: 50, seed: 5 });
    const pipeline = await freshPipeline();
    const badKey = 'sk_this_key_was_revoked_0000000000000000';
    secretValues.set('elevenlabs/api-key-bad', badKey);
    await saveWatermark(documentClient, pipeline.stateTableName, 1_767_000_000, new Date());
    const output = captureOutput({ emitMetrics: true });
    try {
      const handler = await loadHandler(pipeline, fake, 'elevenlabs/api-key-bad');

      // Act
      const failure = await handler({}, lambdaContext()).catch((error: unknown) => error);

      // Assess
      expect(failure).toBeInstanceOf(Error);
      expect((failure as Error).name).toBe('ElevenLabsAuthError');
      expect((failure as Error).message).toMatch(/^ElevenLabs rejected the API key \(401, invalid_api_key\) — check the secret/);
      expect(await storedWatermark(pipeline)).toBe(1_767_000_000);
      expect(await drainQueue(sqsS3.sqs, pipeline.queueUrl)).toHaveLength(0);
      const metrics = output.metrics();
      expect(metrics).toContainEqual(expect.objectContaining({ name: 'PollerRunFailed', value: 1 }));
      expect(metrics).toContainEqual(expect.objectContaining({ name: 'ApiError', value: 1, dimensions: expect.objectContaining({ status: '401' }) }));
      expect(output.text()).toContain('poll failed');
      expect(output.text()).not.toContain(badKey);
    } finally {
      output.restore();
    }
  });
});

describe('the poller handler, one run at a time', () => {
  async function leaseItem(pipeline: Pipeline): Promise<Record<string, unknown> | undefined> {
    return (await documentClient.send(new GetCommand({ TableName: pipeline.stateTableName, Key: { id: POLLER_LEASE_ID }, ConsistentRead: true }))).Item;
  }

  it('lets only one of two overlapping runs reconcile, and releases the lease for the next', async () => {
    // Prepare: run A is held at its first ElevenLabs request, after it has taken the lease
    const fake = await fakeAccount({ count: 100, seed: 31 });
    const pipeline = await freshPipeline();
    const missing = await seedAllBut(pipeline, fake, 10);
    secretValues.set('elevenlabs/api-key-lease', FAKE_API_KEY);
    const handler = await loadHandler(pipeline, fake, 'elevenlabs/api-key-lease');
    const release = fake.holdRequests();
    const runA = handler({}, lambdaContext());
    await vi.waitFor(async () => expect(await leaseItem(pipeline)).toBeDefined(), { timeout: 10_000, interval: 20 });

    // Act
    const runB = await handler({}, lambdaContext());
    release();
    const resultA = await runA;
    const leaseAfterA = await leaseItem(pipeline);
    const messages = await drainQueue(sqsS3.sqs, pipeline.queueUrl);
    const runC = await handler({}, lambdaContext());

    // Assess
    expect(runB).toEqual({ skipped: 'lease_held' });
    expect(resultA).toMatchObject({ summary: { listed: 100, missing: missing.size, backfilled: missing.size } });
    expect(new Set(messages.map((message) => message.attributes.conversationId))).toEqual(missing);
    expect(messages).toHaveLength(missing.size);
    expect(leaseAfterA).toBeUndefined();
    // C starts from A's watermark, so it lists only the overlap; it ran rather than being skipped.
    expect(runC).toHaveProperty('summary');
  });

  it('takes over the lease of a run that died once it has expired, and not before', async () => {
    // Prepare
    const fake = await fakeAccount({ count: 10, seed: 32 });
    const pipeline = await freshPipeline();
    secretValues.set('elevenlabs/api-key-expired', FAKE_API_KEY);
    const handler = await loadHandler(pipeline, fake, 'elevenlabs/api-key-expired');
    const crashed = (expiresAtMs: number) =>
      documentClient.send(new PutCommand({ TableName: pipeline.stateTableName, Item: { id: POLLER_LEASE_ID, holder: 'crashed-run', expires_at_ms: expiresAtMs, acquired_at: '2026-12-01T00:00:00.000Z' } }));

    // Act
    await crashed(Date.now() + 60_000);
    const whileHeld = await handler({}, lambdaContext());
    await crashed(Date.now() - 1);
    const afterExpiry = await handler({}, lambdaContext());

    // Assess
    expect(whileHeld).toEqual({ skipped: 'lease_held' });
    expect(afterExpiry).toMatchObject({ summary: { listed: 10 } });
    expect(await leaseItem(pipeline)).toBeUndefined();
  });
});

describe('the poller handler before the API key is set', () => {
  it.each([
    ['the stack placeholder', STACK_PLACEHOLDER_EXAMPLE],
    ['an empty value', ' '],
  ])('reports a secret holding %s as one ApiKeyNotSet, not as a failed run, and calls nothing', async (_name, value) => {
    // Prepare
    const fake = await fakeAccount({ count: 10, seed: 33 });
    const pipeline = await freshPipeline();
    secretValues.set('elevenlabs/api-key-unset', value);
    const output = captureOutput({ emitMetrics: true });
    try {
      const handler = await loadHandler(pipeline, fake, 'elevenlabs/api-key-unset');

      // Act
      const result = await handler({}, lambdaContext());

      // Assess
      expect(result).toEqual({ skipped: 'api_key_not_set' });
      const names = output.metrics().map((metric) => metric.name);
      expect(names).toContain('ApiKeyNotSet');
      expect(names).not.toContain('PollerRunFailed');
      expect(output.text()).toContain('poll skipped: API key not set');
      expect(fake.calls).toMatchObject({ list: 0, get: 0 });
    } finally {
      output.restore();
    }
  });
});

describe('runPoller with the real adapters', () => {
  it('converges despite 429 bursts, 5xx answers and dropped connections, without publishing anything twice', async () => {
    // Prepare
    const fake = await fakeAccount({ count: 600, seed: 11 });
    const pipeline = await freshPipeline();
    const missing = await seedAllBut(pipeline, fake, 10);
    const [stubborn] = [...missing].sort();
    fake.injectFault({ route: 'list', count: 2, status: 429, retryAfter: '0' });
    fake.injectFault({ route: 'get', count: 6, status: 503 });
    fake.injectFault({ route: 'get', count: 3, status: 'reset' });
    fake.injectFault({ route: 'get', count: 3, status: 429, retryAfter: '0' });
    fake.injectFault({ route: 'get', count: 50, status: 500, conversationId: stubborn });

    // Act: the first run cannot get the stubborn one; the consumer stores what was published; the faults clear. One
    // window, so the burst of transient faults spreads over the calls in flight instead of exhausting a lone call's attempts.
    const first = await runPoller({ ...POLLER_SETTINGS, windowSecs: 86_400, firstWindowSecs: 86_400 }, pollerPorts(pipeline, fake));
    const firstMessages = await drainQueue(sqsS3.sqs, pipeline.queueUrl);
    await markStored(
      pipeline,
      fake,
      firstMessages.map((message) => message.attributes.conversationId as string),
    );
    fake.clearFaults();
    const second = await runPoller(POLLER_SETTINGS, pollerPorts(pipeline, fake));
    const secondMessages = await drainQueue(sqsS3.sqs, pipeline.queueUrl);

    // Assess
    expect(first.summary).toMatchObject({ missing: 60, backfilled: 59, errors: 1 });
    expect(first.watermark).toBe(fake.conversation(stubborn as string).startTimeUnixSecs - 1);
    expect(second.summary).toMatchObject({ missing: 1, backfilled: 1, errors: 0 });
    expect(second.watermark).toBe(second.before - SETTLE);
    const allIds = [...firstMessages, ...secondMessages].map((message) => message.attributes.conversationId);
    expect(allIds).toHaveLength(60);
    expect(new Set(allIds)).toEqual(missing);
  });

  it('waits for a conversation that is still in progress, then back-fills it once it is done', async () => {
    // Prepare
    const fake = await fakeAccount({ count: 200, seed: 13 });
    const pipeline = await freshPipeline();
    const missing = await seedAllBut(pipeline, fake, 20);
    const running = [...missing][4] as string;
    fake.setStatus(running, 'in-progress');

    // Act
    const first = await runPoller(POLLER_SETTINGS, pollerPorts(pipeline, fake));
    const firstMessages = await drainQueue(sqsS3.sqs, pipeline.queueUrl);
    await markStored(
      pipeline,
      fake,
      firstMessages.map((message) => message.attributes.conversationId as string),
    );
    fake.setStatus(running, 'done');
    const second = await runPoller(POLLER_SETTINGS, pollerPorts(pipeline, fake));
    const secondMessages = await drainQueue(sqsS3.sqs, pipeline.queueUrl);

    // Assess
    expect(first.summary.skippedNotFinal).toBe(1);
    expect(firstMessages.map((message) => message.attributes.conversationId)).not.toContain(running);
    expect(first.watermark).toBe(fake.conversation(running).startTimeUnixSecs - 1);
    expect(secondMessages.map((message) => message.attributes.conversationId)).toEqual([running]);
    expect(second.watermark).toBe(second.before - SETTLE);
  });

  it('gets the same conversations whatever the list order and bound semantics, asking the table once per 100 ids', async () => {
    // Prepare
    const fake = await fakeAccount({ count: 300, seed: 17, order: 'shuffled', bounds: { after: 'inclusive', before: 'inclusive' } });
    const pipeline = await freshPipeline();
    const missing = await seedAllBut(pipeline, fake, 10);
    const { documentClient: counted, batchGetCalls } = countingBatchGets(dynamo.endpoint);
    const ports = pollerPorts(pipeline, fake, { conversationsClient: counted });

    // Act: one window for the whole day, so all 300 share three pages whatever their order
    const result = await runPoller({ ...POLLER_SETTINGS, windowSecs: 86_400, firstWindowSecs: 86_400 }, ports);
    const messages = await drainQueue(sqsS3.sqs, pipeline.queueUrl);

    // Assess
    expect(result.summary).toMatchObject({ listed: 300, backfilled: 30 });
    expect(new Set(messages.map((message) => message.attributes.conversationId))).toEqual(missing);
    expect(batchGetCalls()).toBe(3);
  });

  it('with recordings back-filled, archives each recording missing from back-filled and stored records and queues a claim check to it', async () => {
    // Prepare
    const fake = await fakeAccount({ count: 60, seed: 19, audioBytes: 3000 });
    const pipeline = await freshPipeline();
    const ids = fake.conversationIds();
    const missing = new Set(ids.slice(0, 10));
    const storedWithoutAudio = ids.slice(10, 20).filter((id) => fake.conversation(id).hasAudio);
    const storedRecords = ids.slice(10).map((id) => {
      const conversation = fake.conversation(id);
      const lacksAudio = storedWithoutAudio.includes(id);
      return {
        conversation_id: id,
        transcription_body_sha256: `sha-${id}`,
        agent_id: conversation.agentId,
        start_time_unix_secs: conversation.startTimeUnixSecs,
        has_audio: conversation.hasAudio,
        ...(conversation.hasAudio && !lacksAudio ? { audio: { s3_key: `audio/${id}/x.mp3` } } : {}),
      };
    });
    await seedRecords(documentClient, pipeline.tableName, storedRecords);

    // Act
    const result = await runPoller({ ...POLLER_SETTINGS, backfillRecordings: true }, pollerPorts(pipeline, fake));
    const messages = await drainQueue(sqsS3.sqs, pipeline.queueUrl);

    // Assess
    const audioMessages = messages.filter((message) => message.attributes.eventType === 'post_call_audio');
    const expectedAudio = [...[...missing].filter((id) => fake.conversation(id).hasAudio), ...storedWithoutAudio];
    expect(new Set(audioMessages.map((message) => message.attributes.conversationId))).toEqual(new Set(expectedAudio));
    expect(fake.calls.audio).toBe(expectedAudio.length);
    expect(result.summary.audio.backfilled).toBe(expectedAudio.length);
    for (const message of audioMessages) {
      // A small inline claim check, never the recording itself.
      if (message.body.location !== 'inline') throw new Error('expected an inline body');
      expect(message.messageBody.length).toBeLessThan(1000);
      const { data } = JSON.parse(message.body.rawBody) as { data: { conversation_id: string; full_audio?: string; audio_object: { bucket: string; key: string; bytes: number; sha256: string } } };
      expect(data.full_audio).toBeUndefined();
      expect(data.audio_object).toMatchObject({ bucket: BUCKET, ...(await fake.audioDigest(data.conversation_id)) });
      expect(data.audio_object.bytes).toBe(3000);
      expect(data.audio_object.key).toMatch(new RegExp(`^events/recordings/\\d{4}/\\d{2}/\\d{2}/${data.conversation_id}/\\d+-[0-9a-f]{16}\\.mp3$`));
      const archived = await sqsS3.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: data.audio_object.key }));
      expect(archived.ContentType).toBe('audio/mpeg');
      expect(Buffer.from(await archived.Body?.transformToByteArray() ?? []).equals(Buffer.from(fake.audioBody(data.conversation_id)))).toBe(true);
    }
  });
});

describe('recordings that fail', () => {
  /** Five recorded conversations, stored without their recordings (their audio webhooks never arrived). */
  async function storedWithoutRecordings() {
    const fake = await fakeAccount({ count: 5, seed: 23, audioBytes: 200_000, failedFraction: 0, audioFraction: 1 });
    const pipeline = await freshPipeline();
    await seedRecords(
      documentClient,
      pipeline.tableName,
      fake.conversations().map((conversation) => ({ conversation_id: conversation.conversationId, transcription_body_sha256: `sha-${conversation.conversationId}`, agent_id: conversation.agentId, start_time_unix_secs: conversation.startTimeUnixSecs, has_audio: true })),
    );
    return { fake, pipeline, oldest: [...fake.conversations()].sort((a, b) => a.startTimeUnixSecs - b.startTimeUnixSecs)[0] as ReturnType<FakeElevenLabsApi['conversation']> };
  }

  it('hold the watermark while the audio endpoint answers 5xx, and stop holding it once the call is older than the maximum pending age', async () => {
    // Prepare: the oldest conversation's recording keeps failing with 503.
    const { fake, pipeline, oldest } = await storedWithoutRecordings();
    fake.injectFault({ route: 'audio', count: 1000, status: 503, conversationId: oldest.conversationId });
    const ageSecs = Math.floor(Date.now() / 1000) - oldest.startTimeUnixSecs;

    // Act
    const holding = await runPoller({ ...POLLER_SETTINGS, backfillRecordings: true, maxPendingAgeSecs: ageSecs + 3600 }, pollerPorts(pipeline, fake));
    const givingUp = await runPoller({ ...POLLER_SETTINGS, backfillRecordings: true, maxPendingAgeSecs: ageSecs - 60 }, pollerPorts(pipeline, fake));
    fake.clearFaults();

    // Assess
    expect(holding.summary).toMatchObject({ errors: 1, audio: { backfilled: 4, givenUp: 0 }, watermarkBlockedBy: { conversationId: oldest.conversationId, reason: 'error' } });
    expect(holding.watermark).toBe(oldest.startTimeUnixSecs - 1);
    expect(givingUp.summary).toMatchObject({ errors: 1, audio: { givenUp: 1 } });
    expect(givingUp.summary.watermarkBlockedBy).toBeUndefined();
    expect(givingUp.watermark).toBe(givingUp.before - SETTLE);
  });

  it('leave nothing in the archive when the download breaks off part-way, and the next run fetches it whole', async () => {
    // Prepare
    const { fake, pipeline, oldest } = await storedWithoutRecordings();
    const id = oldest.conversationId;
    fake.injectFault({ route: 'audio', count: 1, status: 'truncate', conversationId: id });
    const archivedFor = async () =>
      ((await sqsS3.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'events/recordings/' }))).Contents ?? []).filter((object) => object.Key?.includes(`/${id}/`));

    // Act
    const first = await runPoller({ ...POLLER_SETTINGS, backfillRecordings: true }, pollerPorts(pipeline, fake));
    const afterFirst = await archivedFor();
    const second = await runPoller({ ...POLLER_SETTINGS, backfillRecordings: true }, pollerPorts(pipeline, fake));

    // Assess
    expect(first.summary).toMatchObject({ errors: 1, audio: { backfilled: 4 }, watermarkBlockedBy: { conversationId: id, reason: 'error' } });
    expect(afterFirst).toEqual([]);
    expect(second.summary.audio.backfilled).toBe(5);
    expect((await archivedFor()).map((object) => object.Size)).toEqual([200_000]);
  });
});

describe('adapters on dynalite', () => {
  it('saves the watermark only forwards, so overlapping runs cannot move it back', async () => {
    // Prepare
    const { stateTableName } = await freshPipeline();

    // Act
    const first = await saveWatermark(documentClient, stateTableName, 1000, new Date('2026-01-01T00:00:00Z'));
    const backwards = await saveWatermark(documentClient, stateTableName, 900, new Date('2026-01-01T00:10:00Z'));
    const same = await saveWatermark(documentClient, stateTableName, 1000, new Date('2026-01-01T00:10:00Z'));
    const forwards = await saveWatermark(documentClient, stateTableName, 1100, new Date('2026-01-01T00:20:00Z'));

    // Assess
    expect([first, backwards, same, forwards]).toEqual([true, false, false, true]);
    const { Item } = await dynamo.client.send(new GetItemCommand({ TableName: stateTableName, Key: { id: { S: 'poller' } } }));
    expect(Item).toEqual({ id: { S: 'poller' }, watermark_unix_secs: { N: '1100' }, updated_at: { S: '2026-01-01T00:20:00.000Z' } });
  });

  it('keeps the saving run\'s start beside the watermark, and reads an item without it as before', async () => {
    // Prepare
    const { stateTableName } = await freshPipeline();

    // Act
    await saveWatermark(documentClient, stateTableName, 1000, new Date('2026-01-01T00:00:00Z'));
    const older = await loadWatermark(documentClient, stateTableName);
    await saveWatermark(documentClient, stateTableName, 1100, new Date('2026-01-01T00:20:00Z'), 5000);
    const newer = await loadWatermark(documentClient, stateTableName);

    // Assess
    expect(older).toEqual({ watermarkUnixSecs: 1000, updatedAt: '2026-01-01T00:00:00.000Z' });
    expect(newer).toEqual({ watermarkUnixSecs: 1100, updatedAt: '2026-01-01T00:20:00.000Z', checkedAtUnixSecs: 5000 });
  });

  it('finds missing ids with one BatchGetItem per 100 distinct ids, and reads audio state in the same call', async () => {
    // Prepare
    const { tableName } = await freshPipeline();
    const ids = Array.from({ length: 250 }, (_, index) => `conv_presence_${index}`);
    await seedRecords(
      documentClient,
      tableName,
      ids
        .filter((_, index) => index % 5 !== 0)
        .map((id, index) => ({
          conversation_id: id,
          transcription_body_sha256: `sha-${id}`,
          has_audio: index % 2 === 0,
          ...(index % 4 === 0 ? { audio: { s3_key: `audio/${id}/a.mp3` } } : {}),
          ...(index % 3 === 0 ? { audio_unavailable: { status_code: 404 } } : {}),
        })),
    );
    const { documentClient: counted, batchGetCalls } = countingBatchGets(dynamo.endpoint);

    // Act
    const missing = await findMissingConversationIds(counted, tableName, [...ids, ...ids.slice(0, 30)]);
    const callsForMissing = batchGetCalls();
    const stored = await readStoredConversations(counted, tableName, ids, { includeAudio: true });

    // Assess
    expect(missing).toEqual(ids.filter((_, index) => index % 5 === 0));
    expect(callsForMissing).toBe(3);
    expect(batchGetCalls()).toBe(6);
    expect(stored.size).toBe(200);
    expect(stored.get('conv_presence_1')).toEqual({ hasTranscription: true, hasAudio: true, audioExpected: true, audioUnavailable: true });
    expect(stored.get('conv_presence_2')).toEqual({ hasTranscription: true, hasAudio: false, audioExpected: false, audioUnavailable: false });
  });

  it('counts a record that holds only audio, a failure event, the OpenTelemetry form or a transcription without transcript as missing, so its transcript is back-filled', async () => {
    // Prepare
    const tableName = `presence-partial-${Date.now()}`;
    await createConversationsTable(dynamo.client, tableName);
    await seedRecords(documentClient, tableName, [
      { conversation_id: 'conv_audio_only', audio: { s3_key: 'audio/conv_audio_only/a.mp3' } },
      { conversation_id: 'conv_failure_only', status: 'failed' },
      { conversation_id: 'conv_complete', transcription_body_sha256: 'sha-complete' },
      { conversation_id: 'conv_no_transcript', transcription_body_sha256: 'sha-bare', transcript_location: null },
    ]);
    await documentClient.send(new PutCommand({ TableName: tableName, Item: { conversation_id: 'conv_otel_only', otlp_traces_body_sha256: 'sha-otel', otlp_traces: { resourceSpans: [] } } }));

    // Act
    const ids = ['conv_audio_only', 'conv_failure_only', 'conv_complete', 'conv_no_transcript', 'conv_otel_only', 'conv_absent'];
    const missing = await findMissingConversationIds(documentClient, tableName, ids);

    // Assess
    expect(missing).toEqual(['conv_audio_only', 'conv_failure_only', 'conv_no_transcript', 'conv_otel_only', 'conv_absent']);
  });
});
