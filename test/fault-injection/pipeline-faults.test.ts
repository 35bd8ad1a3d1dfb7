/**
 * Fault injection across the whole pipeline (HTTP → receiver → S3 + SQS → consumer → DynamoDB, and the poller): lost
 * webhooks, repeated and reordered deliveries, failing SQS, S3 and DynamoDB calls on the wire, a consumer that
 * crashes mid-batch, and a poison message. Each case states what must hold whatever the faults: every final
 * conversation the API knows ends up stored exactly as the API has it, once, and nothing acknowledged is lost.
 * Fault patterns are seeded; the SDK's retry timing is not, so the checks are invariants, not exact counts.
 */
import type { SQSBatchResponse } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeElevenLabsApi, type FakeElevenLabsApi } from '../../bin/local/fake-elevenlabs-api.js';
import { seededRandom, shuffled } from '../../bin/local/seeded-random.js';
import type { ConversationRecord } from '../../lambdas/core/record/conversation-record.js';
import { captureOutput, type CapturedOutput } from '../fixtures/output-capture.js';
import { nowSeconds } from '../fixtures/webhook-requests.js';
import { synthesizeStack } from '../infra/support.js';
import { CHAOS_MAX_RECEIVE_COUNT, startChaosPipeline, type ChaosPipeline } from '../support/chaos-pipeline.js';
import { dynamoDbThrottling, PASS, s3SlowDown, sqsInternalError, type Fault, type FaultPolicy } from '../support/fault-proxy.js';

const SEED = 20_261_123;

let pipeline: ChaosPipeline;
let output: CapturedOutput;
const fakes: FakeElevenLabsApi[] = [];
const ENVIRONMENT = { ...process.env };

beforeAll(async () => {
  // Metrics on (EMF documents captured), logs at ERROR: the handlers' observability is created with the pipeline.
  output = captureOutput({ emitMetrics: true });
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  pipeline = await startChaosPipeline();
});

afterEach(async () => {
  pipeline.sqsS3Proxy.setPolicy(() => PASS);
  pipeline.dynamoDbProxy.setPolicy(() => PASS);
  pipeline.setConsumerWrapper((consumer) => consumer);
  pipeline.sqsS3Proxy.resetCounts();
  pipeline.dynamoDbProxy.resetCounts();
});

afterAll(async () => {
  await pipeline?.stop();
  await Promise.all(fakes.map((fake) => fake.stop()));
  output?.restore();
  process.env = { ...ENVIRONMENT };
});

async function fakeAccount(count: number, seed: number): Promise<FakeElevenLabsApi> {
  const fake = await startFakeElevenLabsApi({ count, seed, audioBytes: 2048 });
  fakes.push(fake);
  return fake;
}

interface Delivery {
  readonly conversationId: string;
  readonly type: 'post_call_transcription' | 'post_call_audio';
  readonly body: Uint8Array;
}

/** The webhooks ElevenLabs sends for the account: a transcription per conversation, audio where there is a recording. */
function webhooksOf(fake: FakeElevenLabsApi): Delivery[] {
  const eventTimestamp = nowSeconds();
  return fake.conversations().flatMap((conversation): Delivery[] => {
    const id = conversation.conversationId;
    const transcription = `{"type":"post_call_transcription","event_timestamp":${eventTimestamp},"data":${Buffer.from(fake.conversationBody(id)).toString('utf8')}}`;
    const deliveries: Delivery[] = [{ conversationId: id, type: 'post_call_transcription', body: Buffer.from(transcription) }];
    if (conversation.hasAudio) {
      const data = { agent_id: conversation.agentId, conversation_id: id, full_audio: Buffer.from(fake.audioBody(id)).toString('base64') };
      deliveries.push({ conversationId: id, type: 'post_call_audio', body: Buffer.from(JSON.stringify({ type: 'post_call_audio', event_timestamp: eventTimestamp, data })) });
    }
    return deliveries;
  });
}

/** Runs `task` over `items` with `concurrency` in flight; results in item order. */
async function inParallel<T, R>(items: readonly T[], concurrency: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await task(items[index] as T);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

/** A seeded policy: each call of a listed operation fails with `probability`, with one of its faults (picked at random). */
function failing(faultsByOperation: Readonly<Record<string, ReadonlyArray<() => Fault>>>, probability: number, seed: number): FaultPolicy {
  const random = seededRandom(seed);
  return ({ operation }) => {
    const faults = faultsByOperation[operation];
    if (faults === undefined || random() >= probability) return PASS;
    return (faults[Math.floor(random() * faults.length)] as () => Fault)();
  };
}

const loseAnswer = (): Fault => ({ kind: 'lose-answer' });
const reset = (): Fault => ({ kind: 'reset' });

async function recordOf(conversationId: string): Promise<ConversationRecord | undefined> {
  return pipeline.reader.getConversation(conversationId, { includeTranscript: true });
}

/**
 * Each conversation is stored once, as the API has it: the transcript and status of its detail, the recording
 * byte-identical, one event per distinct delivery and one write per event (duplicates write nothing).
 */
async function expectStoredAsTheApiHasIt(fake: FakeElevenLabsApi, conversationIds: readonly string[]): Promise<void> {
  for (const id of conversationIds) {
    const record = await recordOf(id);
    const detail = JSON.parse(Buffer.from(fake.conversationBody(id)).toString('utf8')) as { status: string; transcript: unknown[] };
    expect(record, id).toBeDefined();
    expect(record?.transcript, id).toEqual(detail.transcript);
    expect(record?.status, id).toBe(detail.status);
    const expectedEvents = fake.conversation(id).hasAudio ? 2 : 1;
    expect(record?.events, id).toHaveLength(expectedEvents);
    expect(record?.record_version, id).toBe(expectedEvents);
    const audio = await pipeline.reader.getAudio(id);
    if (fake.conversation(id).hasAudio) expect(Buffer.from(audio ?? []).equals(Buffer.from(fake.audioBody(id))), id).toBe(true);
    else expect(audio, id).toBeUndefined();
  }
}

function metricCount(name: string): number {
  return output
    .metrics()
    .filter((metric) => metric.name === name)
    .reduce((total, metric) => total + (Array.isArray(metric.value) ? metric.value.reduce((sum: number, value: number) => sum + value, 0) : Number(metric.value)), 0);
}

describe('fault injection', () => {
  it('heals a random 30% of lost webhooks: after one poller run every conversation is stored as the API has it', async () => {
    // Prepare
    const fake = await fakeAccount(120, SEED);
    const random = seededRandom(SEED);
    const webhooks = webhooksOf(fake);
    const lost = new Set(webhooks.filter(() => random() < 0.3));
    const delivered = webhooks.filter((webhook) => !lost.has(webhook));
    expect(lost.size / webhooks.length).toBeGreaterThan(0.2);
    expect(lost.size / webhooks.length).toBeLessThan(0.4);

    // Act: deliver 70%, let the consumer store them, then one scheduled poller run.
    const statuses = await inParallel(delivered, 8, (webhook) => pipeline.deliver(webhook.body));
    await pipeline.waitUntilQueueEmpty();
    const lostTranscripts = [...lost].filter((webhook) => webhook.type === 'post_call_transcription').map((webhook) => webhook.conversationId);
    const beforePoll = await Promise.all(lostTranscripts.map(recordOf));
    const run = await pipeline.runPoller(fake);
    await pipeline.waitUntilQueueEmpty();

    // Assess
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(beforePoll.filter((record) => record?.transcription_body_sha256 !== undefined)).toEqual([]);
    expect(run.summary).toMatchObject({ missing: lostTranscripts.length, backfilled: lostTranscripts.length, errors: 0 });
    expect(run.summary.audio.backfilled).toBe([...lost].filter((webhook) => webhook.type === 'post_call_audio').length);
    const allIds = fake.conversationIds();
    for (const id of allIds) {
      const record = await recordOf(id);
      const expectedSources = lost.has(webhooks.find((webhook) => webhook.conversationId === id && webhook.type === 'post_call_transcription') as Delivery) ? 'poller' : 'webhook';
      expect(record?.sources, id).toContain(expectedSources);
    }
    await expectStoredAsTheApiHasIt(fake, allIds);
    expect(await pipeline.deadLetterBodies()).toEqual([]);
  });

  it('stores every conversation once when each webhook is delivered three times, concurrently and out of order', async () => {
    // Prepare
    const fake = await fakeAccount(50, SEED + 1);
    const webhooks = webhooksOf(fake);
    const deliveries = shuffled(
      webhooks.flatMap((webhook) => [webhook, webhook, webhook]),
      seededRandom(SEED + 1),
    );
    const audioFirst = fake.conversationIds().filter((id) => {
      const first = deliveries.find((delivery) => delivery.conversationId === id);
      return first?.type === 'post_call_audio';
    });
    output.clear();

    // Act
    const statuses = await inParallel(deliveries, 8, (delivery) => pipeline.deliver(delivery.body));
    await pipeline.waitUntilQueueEmpty();

    // Assess
    expect(audioFirst.length).toBeGreaterThan(5);
    expect(new Set(statuses)).toEqual(new Set([200]));
    await expectStoredAsTheApiHasIt(fake, fake.conversationIds());
    expect(await pipeline.deadLetterBodies()).toEqual([]);
    expect(metricCount('ConversationStored')).toBe(webhooks.length);
    expect(metricCount('DuplicateEvent')).toBe(2 * webhooks.length);
  });

  it('loses no acknowledged webhook when SQS and S3 fail half the calls: failures answer 500, a retried delivery is stored once', async () => {
    // Prepare: SendMessage fails or loses its answer (the message is queued, the receiver cannot know); S3 puts
    // answer SlowDown or drop the connection. The SDK retries; what still fails is answered 500.
    const fake = await fakeAccount(50, SEED + 2);
    const webhooks = webhooksOf(fake);
    pipeline.sqsS3Proxy.setPolicy(failing({ SendMessage: [sqsInternalError, loseAnswer], 'PUT object': [s3SlowDown, reset, loseAnswer] }, 0.5, SEED + 2));

    // Act: a sender that retries a 5xx up to 8 times, as ElevenLabs does with retries switched on.
    const attempts = await inParallel(webhooks, 6, async (webhook) => {
      const answers: number[] = [];
      for (let attempt = 0; attempt < 8 && answers.at(-1) !== 200; attempt++) answers.push(await pipeline.deliver(webhook.body));
      return answers;
    });
    pipeline.sqsS3Proxy.setPolicy(() => PASS);
    await pipeline.waitUntilQueueEmpty();

    // Assess
    const answers = attempts.flat();
    expect(new Set(answers)).toEqual(new Set([200, 500]));
    expect(pipeline.sqsS3Proxy.faultsFor('SendMessage')).toBeGreaterThan(10);
    expect(pipeline.sqsS3Proxy.faultsFor('PUT object')).toBeGreaterThan(10);
    expect(attempts.every((delivery) => delivery.at(-1) === 200)).toBe(true);
    await expectStoredAsTheApiHasIt(fake, fake.conversationIds());
    expect(await pipeline.deadLetterBodies()).toEqual([]);
    // No orphans: a delivery answered 500 leaves no archive object, but for a send an attempt of which lost its
    // answer (that attempt may have queued the message: its archive is kept, the archive of a queued duplicate).
    const ids = new Set(fake.conversationIds());
    const archives = (await pipeline.objectKeys('events/')).filter((key) => ids.has(key.split('/')[4] ?? ''));
    const pointedAt = new Set((await Promise.all(fake.conversationIds().map(recordOf))).flatMap((record) => record?.events.map((pointer) => pointer.archive_key) ?? []));
    const unreferenced = archives.filter((key) => !pointedAt.has(key));
    expect(answers.filter((status) => status === 500).length, 'deliveries answered 500').toBeGreaterThan(unreferenced.length);
    expect(unreferenced.length, 'archives no record points at').toBeLessThanOrEqual(pipeline.sqsS3Proxy.counts.faults.get('SendMessage:lose-answer') ?? 0);
  });

  it('leaves no archive object for a delivery SQS refused, and keeps the one whose send lost its answer (its message was queued)', async () => {
    // Prepare: every SendMessage is refused (SQS answers 500, after the SDK's retries too) for one account, then
    // every SendMessage is applied with its answer lost for another.
    const refused = webhooksOf(await fakeAccount(4, SEED + 7));
    const lost = webhooksOf(await fakeAccount(4, SEED + 8));
    const archivesOf = async (deliveries: readonly Delivery[]) => {
      const ids = new Set(deliveries.map((delivery) => delivery.conversationId));
      return (await pipeline.objectKeys('events/')).filter((key) => ids.has(key.split('/')[4] ?? ''));
    };

    // Act
    pipeline.sqsS3Proxy.setPolicy(({ operation }) => (operation === 'SendMessage' ? sqsInternalError() : PASS));
    const refusedAnswers = await inParallel(refused, 4, (webhook) => pipeline.deliver(webhook.body));
    pipeline.sqsS3Proxy.setPolicy(({ operation }) => (operation === 'SendMessage' ? loseAnswer() : PASS));
    const lostAnswers = await inParallel(lost, 4, (webhook) => pipeline.deliver(webhook.body));
    pipeline.sqsS3Proxy.setPolicy(() => PASS);
    await pipeline.waitUntilQueueEmpty();

    // Assess
    expect(new Set([...refusedAnswers, ...lostAnswers])).toEqual(new Set([500]));
    expect(await archivesOf(refused), 'archives of refused deliveries').toEqual([]);
    const kept = await archivesOf(lost);
    expect(kept.length, 'one archive per attempt of each lost-answer delivery').toBeGreaterThanOrEqual(lost.length);
    const pointedAt = new Set((await Promise.all(lost.map((delivery) => recordOf(delivery.conversationId)))).flatMap((record) => record?.events.map((pointer) => pointer.archive_key) ?? []));
    expect(kept.filter((key) => pointedAt.has(key)).length, 'records point at the archives of their queued messages').toBe(lost.length);
  });

  it('stores everything once although DynamoDB throttles a quarter of reads and writes', async () => {
    // Prepare
    const fake = await fakeAccount(40, SEED + 3);
    pipeline.dynamoDbProxy.setPolicy(failing({ GetItem: [dynamoDbThrottling], PutItem: [dynamoDbThrottling] }, 0.25, SEED + 3));

    // Act
    const statuses = await inParallel(webhooksOf(fake), 8, (webhook) => pipeline.deliver(webhook.body));
    await pipeline.waitUntilQueueEmpty(90_000);

    // Assess
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(pipeline.dynamoDbProxy.faultsFor('PutItem')).toBeGreaterThan(10);
    expect(pipeline.dynamoDbProxy.faultsFor('GetItem')).toBeGreaterThan(10);
    pipeline.dynamoDbProxy.setPolicy(() => PASS);
    await expectStoredAsTheApiHasIt(fake, fake.conversationIds());
    expect(await pipeline.deadLetterBodies()).toEqual([]);
  });

  it('stores everything once when the consumer crashes mid-batch and DynamoDB loses write answers', async () => {
    // Prepare: half the first and second receives of a batch process only its first half, then crash (as a timeout
    // would), so the whole batch comes back; a fifth of the writes are applied but their answer is lost.
    const fake = await fakeAccount(50, SEED + 4);
    const random = seededRandom(SEED + 4);
    let crashes = 0;
    pipeline.setConsumerWrapper((consumer) => async (event): Promise<SQSBatchResponse> => {
      const early = event.Records.every((record) => Number(record.attributes.ApproximateReceiveCount) <= 2);
      if (!early || random() >= 0.5) return consumer(event);
      await consumer({ Records: event.Records.slice(0, Math.ceil(event.Records.length / 2)) });
      crashes++;
      throw new Error('injected crash after half the batch');
    });
    pipeline.dynamoDbProxy.setPolicy(failing({ PutItem: [loseAnswer] }, 0.2, SEED + 4));
    const batchesBefore = pipeline.batches.length;

    // Act
    const statuses = await inParallel(webhooksOf(fake), 8, (webhook) => pipeline.deliver(webhook.body));
    await pipeline.waitUntilQueueEmpty(90_000);

    // Assess
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(crashes).toBeGreaterThan(0);
    expect(pipeline.batches.slice(batchesBefore).filter((batch) => batch.wholeBatchFailed)).toHaveLength(crashes);
    expect(pipeline.dynamoDbProxy.faultsFor('PutItem')).toBeGreaterThan(3);
    await expectStoredAsTheApiHasIt(fake, fake.conversationIds());
    expect(await pipeline.deadLetterBodies()).toEqual([]);
  });

  it('moves a poison message to the dead-letter queue and counts RecordFailed on the metric an alarm watches, storing the rest', async () => {
    // Prepare
    const fake = await fakeAccount(5, SEED + 5);
    const poison = 'a message that is not a queued event';
    output.clear();

    // Act
    await pipeline.sendRawMessage(poison, { event_type: 'post_call_transcription' });
    const statuses = await Promise.all(webhooksOf(fake).map((webhook) => pipeline.deliver(webhook.body)));
    await pipeline.waitUntilQueueEmpty();

    // Assess: the poison is in the dead-letter queue after maxReceiveCount receives; the valid events are stored.
    expect(new Set(statuses)).toEqual(new Set([200]));
    await expectStoredAsTheApiHasIt(fake, fake.conversationIds());
    expect(await pipeline.deadLetterBodies()).toEqual([poison]);
    const failures = output.metrics().filter((metric) => metric.name === 'RecordFailed');
    expect(metricCount('RecordFailed')).toBe(CHAOS_MAX_RECEIVE_COUNT);
    // The metric the stack alarms on is the one emitted: same namespace, name and dimensions.
    const { template } = synthesizeStack();
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Array<{ Properties: { MetricName?: string; Namespace?: string; Dimensions?: Array<{ Name: string; Value: string }> } }>;
    const recordFailedAlarm = alarms.find((alarm) => alarm.Properties.MetricName === 'RecordFailed');
    const emitted = output.jsonLines().find((line) => JSON.stringify(line._aws ?? {}).includes('"RecordFailed"')) as { _aws: { CloudWatchMetrics: Array<{ Namespace: string }> } } | undefined;
    expect(recordFailedAlarm?.Properties.Namespace).toBe(emitted?._aws.CloudWatchMetrics[0]?.Namespace);
    expect(Object.fromEntries((recordFailedAlarm?.Properties.Dimensions ?? []).map((dimension) => [dimension.Name, dimension.Value]))).toEqual(failures[0]?.dimensions);
  });
});
