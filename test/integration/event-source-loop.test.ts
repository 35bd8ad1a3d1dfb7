/**
 * The local SQS event-source loop against fauxqs: Lambda's record shape, partial batch failures, whole-batch
 * failures, redrive to the dead-letter queue, and draining on stop.
 */
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { emulatorCredentials, emulatorRegion, startDynamoDbEmulator, startLocalSqsS3Emulator, type DynamoDbEmulator, type LocalSqsS3Emulator } from '../../bin/local/emulators.js';
import { ensureLocalResources, LOCAL_MAX_RECEIVE_COUNT, LOCAL_VISIBILITY_TIMEOUT_SECS } from '../../bin/local/resources.js';
import { failedMessageIds, startSqsEventSource, type SqsEventSource, type SqsFunction } from '../../bin/local/sqs-event-source.js';
import { S3Client } from '@aws-sdk/client-s3';
import { decodeQueuedEvent, encodeQueuedEvent, type EventAttributes } from '../../lambdas/core/ingest/queued-event.js';

let sqsS3: LocalSqsS3Emulator;
let dynamo: DynamoDbEmulator;
let sqs: SQSClient;
let s3: S3Client;
let running: SqsEventSource | undefined;
let queueCounter = 0;

beforeAll(async () => {
  [sqsS3, dynamo] = await Promise.all([startLocalSqsS3Emulator({ port: 0 }), startDynamoDbEmulator()]);
  const common = { endpoint: sqsS3.endpoint, region: emulatorRegion, credentials: emulatorCredentials };
  sqs = new SQSClient(common);
  s3 = new S3Client({ ...common, forcePathStyle: true });
});

afterEach(async () => {
  await running?.stop();
  running = undefined;
});

afterAll(async () => {
  sqs.destroy();
  s3.destroy();
  await Promise.all([sqsS3.stop(), dynamo.stop()]);
});

/** A fresh queue + dead-letter queue, set up as the pipeline sets them up (short timings for the test). */
async function freshQueue(options: { maxReceiveCount?: number } = {}) {
  queueCounter++;
  const names = {
    tableName: `conversations-${queueCounter}`,
    stateTableName: `state-${queueCounter}`,
    queueName: `ingest-${queueCounter}`,
    deadLetterQueueName: `ingest-dlq-${queueCounter}`,
    bucketName: `bucket-${queueCounter}`,
  };
  const resources = await ensureLocalResources({ dynamodb: dynamo.client, sqs, s3, names, visibilityTimeoutSecs: 1, maxReceiveCount: options.maxReceiveCount ?? 5 });
  return { names, ...resources };
}

async function send(queueUrl: string, body: string, attributes: Record<string, string> = {}): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: body,
      MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }])),
    }),
  );
}

function start(queue: { queueUrl: string; queueArn: string }, invoke: SqsFunction): void {
  running = startSqsEventSource({ sqs, queueUrl: queue.queueUrl, queueArn: queue.queueArn, region: emulatorRegion, invoke, waitTimeSeconds: 1, concurrency: 1 });
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function messagesIn(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

describe('local resources', () => {
  it('creates the ingest queue with a redrive policy to its dead-letter queue after 5 receives and a short visibility timeout', async () => {
    // Prepare
    const names = { tableName: 't-defaults', stateTableName: 's-defaults', queueName: 'q-defaults', deadLetterQueueName: 'dlq-defaults', bucketName: 'b-defaults' };

    // Act: twice, as every restart does
    await ensureLocalResources({ dynamodb: dynamo.client, sqs, s3, names });
    const resources = await ensureLocalResources({ dynamodb: dynamo.client, sqs, s3, names });

    // Assess
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: resources.queueUrl, AttributeNames: ['All'] }));
    expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toEqual({ deadLetterTargetArn: resources.deadLetterQueueArn, maxReceiveCount: LOCAL_MAX_RECEIVE_COUNT });
    expect(Attributes?.VisibilityTimeout).toBe(String(LOCAL_VISIBILITY_TIMEOUT_SECS));
    expect(resources.warnings).toEqual([]);
  });

  it('names queues with a URL whose origin is the emulator, so clients configured only by AWS_ENDPOINT_URL_SQS reach it', async () => {
    // Prepare / Act
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'origin-check' }));

    // Assess
    expect(new URL(QueueUrl ?? '').origin).toBe(sqsS3.endpoint);
  });
});

describe('SQS event source loop', () => {
  it('hands the function an SQSEvent shaped like Lambda’s, which the queue contract decodes', async () => {
    // Prepare
    const queue = await freshQueue();
    const attributes: EventAttributes = {
      eventType: 'post_call_transcription',
      conversationId: 'conv_shape',
      agentId: 'agent_shape',
      eventTimestamp: 1767268920,
      receivedAt: '2026-11-23T08:00:00.000Z',
      source: 'webhook',
      archiveKey: 'events/2026/11/23/conv_shape/x.json.gz',
      bodySha256: 'ab'.repeat(32),
    };
    const message = encodeQueuedEvent(attributes, Buffer.from('{"type":"post_call_transcription","data":{}}'), 'bucket');
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, ...message }));
    const events: SQSEvent[] = [];

    // Act
    start(queue, async (event) => {
      events.push(event);
    });
    await waitFor(() => events.length === 1);

    // Assess
    const record = events[0]?.Records[0] as SQSRecord;
    expect(events[0]?.Records).toHaveLength(1);
    expect(record).toMatchObject({
      body: message.MessageBody,
      eventSource: 'aws:sqs',
      eventSourceARN: queue.queueArn,
      awsRegion: emulatorRegion,
      attributes: { ApproximateReceiveCount: '1' },
      messageAttributes: { conversation_id: { stringValue: 'conv_shape', dataType: 'String', stringListValues: [], binaryListValues: [] } },
    });
    expect(record.messageId).not.toBe('');
    expect(record.receiptHandle).not.toBe('');
    expect(record.attributes.SentTimestamp).toMatch(/^\d+$/);
    expect(record.messageAttributes.event_timestamp?.dataType).toBe('Number');
    expect(decodeQueuedEvent(record).attributes).toEqual(attributes);
  });

  it('deletes the records that succeeded and lets only the failed ones come back', async () => {
    // Prepare
    const queue = await freshQueue();
    for (const name of ['a', 'b', 'c']) await send(queue.queueUrl, name);
    const deliveries: Array<Array<{ body: string; receiveCount: string }>> = [];

    // Act: the first invocation reports "b" as failed
    start(queue, async (event): Promise<SQSBatchResponse> => {
      deliveries.push(event.Records.map((record) => ({ body: record.body, receiveCount: record.attributes.ApproximateReceiveCount })));
      const failed = deliveries.length === 1 ? event.Records.filter((record) => record.body === 'b') : [];
      return { batchItemFailures: failed.map((record) => ({ itemIdentifier: record.messageId })) };
    });
    await waitFor(() => deliveries.length === 2);
    await waitFor(async () => (await messagesIn(queue.queueUrl)) === 0);

    // Assess
    expect(deliveries[0]?.map((delivery) => delivery.body).sort()).toEqual(['a', 'b', 'c']);
    expect(deliveries[1]).toEqual([{ body: 'b', receiveCount: '2' }]);
  });

  it('retries the whole batch when the function throws', async () => {
    // Prepare
    const queue = await freshQueue();
    for (const name of ['x', 'y']) await send(queue.queueUrl, name);
    const deliveries: string[][] = [];

    // Act
    start(queue, async (event) => {
      deliveries.push(event.Records.map((record) => `${record.body}#${record.attributes.ApproximateReceiveCount}`).sort());
      if (deliveries.length === 1) throw new Error('handler crashed');
    });
    await waitFor(() => deliveries.length === 2);
    await waitFor(async () => (await messagesIn(queue.queueUrl)) === 0);

    // Assess
    expect(deliveries).toEqual([
      ['x#1', 'y#1'],
      ['x#2', 'y#2'],
    ]);
  });

  it('moves a record to the dead-letter queue once it has been received maxReceiveCount times', async () => {
    // Prepare
    const queue = await freshQueue({ maxReceiveCount: 2 });
    await send(queue.queueUrl, 'poison');
    let attempts = 0;

    // Act
    start(queue, async (event) => {
      attempts += event.Records.length;
      return { batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })) };
    });
    await waitFor(async () => (await messagesIn(queue.deadLetterQueueUrl)) === 1);

    // Assess
    expect(attempts).toBe(2);
    expect(await messagesIn(queue.queueUrl)).toBe(0);
    const inspected = await sqsS3.inspectQueue(queue.names.deadLetterQueueName);
    expect([...(inspected?.messages.ready ?? []), ...(inspected?.messages.inflight.map((entry) => entry.message) ?? [])].map((message) => message.body)).toEqual(['poison']);
  });

  it('finishes the batch in flight when stopped, deleting its successes', async () => {
    // Prepare
    const queue = await freshQueue();
    await send(queue.queueUrl, 'slow');
    let started = false;
    let finished = false;
    start(queue, async () => {
      started = true;
      await new Promise((resolve) => setTimeout(resolve, 300));
      finished = true;
    });
    await waitFor(() => started);

    // Act
    await running?.stop();
    running = undefined;

    // Assess
    expect(finished).toBe(true);
    expect(await messagesIn(queue.queueUrl)).toBe(0);
  });
});

describe('reading the function’s answer as Lambda does', () => {
  const records = [{ messageId: 'm1' }, { messageId: 'm2' }] as SQSRecord[];

  it('treats a missing or empty failure list as complete success', () => {
    expect(failedMessageIds(records, undefined)).toEqual({ ids: [], wholeBatch: false });
    expect(failedMessageIds(records, { batchItemFailures: [] })).toEqual({ ids: [], wholeBatch: false });
  });

  it('fails the whole batch when a failure names no record of the batch', () => {
    expect(failedMessageIds(records, { batchItemFailures: [{ itemIdentifier: 'elsewhere' }] })).toEqual({ ids: ['m1', 'm2'], wholeBatch: true });
    expect(failedMessageIds(records, { batchItemFailures: [{ itemIdentifier: '' }] }).wholeBatch).toBe(true);
  });
});
