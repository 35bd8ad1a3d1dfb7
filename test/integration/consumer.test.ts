import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityCommand, CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { DeleteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { lambdaContext } from '../../bin/local/lambda-context.js';
import { createConsumerHandler, type ConsumerHandler } from '../../lambdas/consumer/consume-batch.js';
import { captureOutput } from '../fixtures/output-capture.js';
import { readConsumerConfig } from '../../lambdas/consumer/config.js';
import { createDynamoDbDocumentClient } from '../../lambdas/core/aws/dynamodb.js';
import { createS3Client } from '../../lambdas/core/aws/s3.js';
import { type ConversationRecord } from '../../lambdas/core/record/conversation-record.js';
import { createConversationReader, type ConversationReader } from '../../lambdas/core/record/conversation-reader.js';
import { createConversationStore } from '../../lambdas/core/record/conversation-writer.js';
import { ConfigurationError } from '../../lambdas/core/errors.js';
import { s3EventPorts } from '../../lambdas/consumer/process-event.js';
import { createObservability } from '../../lambdas/core/observability.js';
import { ATTRIBUTE, type EventSource } from '../../lambdas/core/ingest/queued-event.js';
import {
  AGENT_ID,
  archiveAndEncode,
  audioData,
  envelope,
  failureData,
  pseudoRandomBytes,
  sha256Hex,
  sqsEvent,
  toSqsRecord,
  transcriptionData,
  type JsonObject,
  type PublishedEvent,
} from '../support/conversation-events.js';
import { createConversationsTable } from '../support/conversation-tables.js';
import { sdkEnvironmentFor, startDynamoDbEmulator, startSqsS3Emulator, type DynamoDbEmulator, type SqsS3Emulator } from '../support/emulators.js';

const BUCKET = 'conversation-bucket';
const ENVIRONMENT = { ...process.env };

let sqsS3: SqsS3Emulator;
let dynamo: DynamoDbEmulator;
let tableName: string;
let queueUrl: string;
let handler: ConsumerHandler;
let documentClient: DynamoDBDocumentClient;
let s3: ReturnType<typeof createS3Client>;
let reader: ConversationReader;

beforeAll(async () => {
  [sqsS3, dynamo] = await Promise.all([startSqsS3Emulator(), startDynamoDbEmulator()]);
  sqsS3.server.createBucket(BUCKET);
  queueUrl = sqsS3.server.createQueue('ingest').queueUrl;
  tableName = await createConversationsTable(dynamo.client);
  // What the stack (or the local pipeline) gives the function.
  Object.assign(process.env, {
    ...sdkEnvironmentFor({ s3: sqsS3.endpoint, dynamodb: dynamo.endpoint }),
    CONVERSATIONS_TABLE_NAME: tableName,
    CONVERSATION_BUCKET_NAME: BUCKET,
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });
  ({ handler } = await import('../../lambdas/consumer/handler.js'));
  documentClient = createDynamoDbDocumentClient();
  s3 = createS3Client();
  reader = createConversationReader({ documentClient, s3, tableName, bucketName: BUCKET });
});

afterAll(async () => {
  process.env = { ...ENVIRONMENT };
  documentClient?.destroy();
  s3?.destroy();
  await Promise.all([sqsS3?.stop(), dynamo?.stop()]);
});

let conversationCounter = 0;
function newConversationId(): string {
  return `conv_consumer_${++conversationCounter}_${Math.random().toString(36).slice(2, 8)}`;
}

function publish(type: string, data: JsonObject, eventTimestamp?: number, options: { source?: EventSource; receivedAt?: Date } = {}): Promise<PublishedEvent> {
  return archiveAndEncode(envelope(type, data, eventTimestamp), { s3, bucketName: BUCKET, ...options });
}

async function send(published: PublishedEvent, url = queueUrl): Promise<void> {
  await sqsS3.sqs.send(new SendMessageCommand({ QueueUrl: url, ...published.message }));
}

/**
 * What the Lambda event source mapping does: receive a batch, invoke the handler, delete what succeeded and make
 * the reported failures visible again. Returns every batch response.
 */
async function drain(url = queueUrl, invoke: ConsumerHandler = handler, maxBatches = 50): Promise<SQSBatchResponse[]> {
  const responses: SQSBatchResponse[] = [];
  for (let batch = 0; batch < maxBatches; batch++) {
    const { Messages = [] } = await sqsS3.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['ApproximateReceiveCount'], WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return responses;
    const response = await invoke(sqsEvent(Messages.map(toSqsRecord)));
    responses.push(response);
    const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
    for (const message of Messages) {
      if (failed.has(message.MessageId!)) await sqsS3.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 }));
      else await sqsS3.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle! }));
    }
  }
  throw new Error('queue did not drain');
}

/** Sends each event as its own message and drains the queue after each, so they are processed in this order. */
async function processInOrder(events: readonly PublishedEvent[]): Promise<void> {
  for (const event of events) {
    await send(event);
    const responses = await drain();
    expect(responses.flatMap((response) => response.batchItemFailures)).toEqual([]);
  }
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((item, index) => permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]));
}

function withoutWriteTime(record: ConversationRecord | undefined): Omit<ConversationRecord, 'updated_at'> | undefined {
  if (record === undefined) return undefined;
  const { updated_at: _writeTime, ...rest } = record;
  return rest;
}

describe('consumer handler', () => {
  it('stores one identical record for every ordering of transcription, audio and failure events', async () => {
    // Prepare
    const conversationId = newConversationId();
    const mp3 = pseudoRandomBytes(2048, 7);
    const events = [
      await publish('post_call_transcription', transcriptionData(conversationId), 1767268920, { receivedAt: new Date('2026-01-01T12:02:00Z') }),
      await publish('post_call_audio', audioData(conversationId, mp3), 1767268931, { receivedAt: new Date('2026-01-01T12:02:11Z') }),
      await publish('call_initiation_failure', failureData(conversationId), 1767272400, { receivedAt: new Date('2026-01-01T13:00:00Z') }),
    ];
    const records: (ConversationRecord | undefined)[] = [];

    // Act
    for (const ordering of permutations(events)) {
      await documentClient.send(new DeleteCommand({ TableName: tableName, Key: { conversation_id: conversationId } }));
      await processInOrder(ordering);
      records.push(await reader.getConversation(conversationId));
    }

    // Assess
    expect(records).toHaveLength(6);
    for (const record of records) expect(withoutWriteTime(record)).toEqual(withoutWriteTime(records[0]));
    expect(records[0]).toMatchObject({ status: 'done', record_version: 3, message_count: 3, audio: { bytes: 2048 }, initiation_failure: { failure_reason: 'no-answer' } });
    expect(records[0]?.events.map((pointer) => pointer.archive_key)).toEqual(events.map((event) => event.attributes.archiveKey));
    expect(await reader.getAudio(conversationId)).toEqual(mp3);
  });

  it('leaves the record untouched when the same event is delivered three more times', async () => {
    // Prepare
    const conversationId = newConversationId();
    const event = await publish('post_call_transcription', transcriptionData(conversationId), 1767268920);
    await processInOrder([event]);
    const before = await reader.getConversation(conversationId);

    // Act
    for (let copy = 0; copy < 3; copy++) await send(event);
    const responses = await drain();

    // Assess
    expect(responses.flatMap((response) => response.batchItemFailures)).toEqual([]);
    const after = await reader.getConversation(conversationId);
    expect(after).toEqual(before);
    expect(after?.record_version).toBe(1);
  });

  it('merges the webhook delivery and the poller back-fill of one conversation into one record', async () => {
    // Prepare
    const conversationId = newConversationId();
    const webhook = await publish('post_call_transcription', transcriptionData(conversationId), 1767268920, { source: 'webhook' });
    const poller = await publish('post_call_transcription', transcriptionData(conversationId, { summary: 'as the API returns it' }), 1767272000, { source: 'poller', receivedAt: new Date('2026-01-01T13:00:00Z') });

    // Act
    await processInOrder([poller, webhook]);

    // Assess
    const record = await reader.getConversation(conversationId);
    expect(record).toMatchObject({ sources: ['webhook', 'poller'], transcript_summary: 'as the API returns it', record_version: 2 });
    expect(record?.events.map((pointer) => pointer.source)).toEqual(['webhook', 'poller']);
  });

  it('keeps the newer data when an older event arrives after a newer one', async () => {
    // Prepare
    const conversationId = newConversationId();
    const newer = await publish('post_call_transcription', transcriptionData(conversationId, { summary: 'newer', turns: 5 }), 1767270000);
    const older = await publish('post_call_transcription', transcriptionData(conversationId, { summary: 'older', turns: 2 }), 1767260000);

    // Act
    await processInOrder([newer, older]);

    // Assess
    const record = await reader.getConversation(conversationId);
    expect(record).toMatchObject({ transcript_summary: 'newer', message_count: 5, transcription_event_timestamp: 1767270000 });
    expect(record?.transcript).toHaveLength(5);
    expect(record?.events).toHaveLength(2);
  });

  it('decodes a 5 MB audio event sent by claim check into the MP3 in S3', async () => {
    // Prepare
    const conversationId = newConversationId();
    const mp3 = pseudoRandomBytes(5 * 1024 * 1024, 42);
    const event = await publish('post_call_audio', audioData(conversationId, mp3), 1767268931);

    // Act
    await processInOrder([event]);

    // Assess
    expect(event.message.MessageAttributes[ATTRIBUTE.bodyLocation]?.StringValue).toBe('s3');
    const record = await reader.getConversation(conversationId);
    expect(record?.audio).toEqual({
      s3_key: `audio/${conversationId}/${event.attributes.bodySha256}.mp3`,
      bytes: mp3.byteLength,
      content_type: 'audio/mpeg',
      sha256: sha256Hex(mp3),
      source: 'webhook',
      event_data: { agent_id: AGENT_ID, conversation_id: conversationId },
    });
    expect(Buffer.from((await reader.getAudio(conversationId))!).equals(Buffer.from(mp3))).toBe(true);
  });

  it('reports poison messages as batch item failures, stores the rest of the batch, and logs no body', async () => {
    // Prepare
    const conversationId = newConversationId();
    const good = toSqsRecord((await publish('post_call_transcription', transcriptionData(conversationId), 1)).message);
    const noAttributes: SQSRecord = { ...toSqsRecord({ MessageBody: '{"type":"x"}', MessageAttributes: {} }) };
    const notJsonBody = 'SECRET-TRANSCRIPT-TEXT not json';
    const notJson = toSqsRecord({
      MessageBody: notJsonBody,
      MessageAttributes: {
        ...(await publish('post_call_transcription', transcriptionData(conversationId), 2)).message.MessageAttributes,
        [ATTRIBUTE.bodySha256]: { DataType: 'String', StringValue: sha256Hex(notJsonBody) },
      },
    });
    const output: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      output.push(String(chunk));
      return true;
    };
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(capture);

    // Act
    let response: SQSBatchResponse;
    try {
      response = await handler(sqsEvent([noAttributes, good, notJson]));
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: noAttributes.messageId }, { itemIdentifier: notJson.messageId }]);
    expect(await reader.getConversation(conversationId)).toMatchObject({ record_version: 1 });
    const logs = output.join('');
    expect(logs).toContain(noAttributes.messageId);
    expect(logs).toContain(notJson.messageId);
    expect(logs).toContain('body is not a webhook event: body_not_json');
    expect(logs).not.toContain('SECRET-TRANSCRIPT-TEXT');
  });

  it('carries the invocation\'s request id on its log lines, so one batch\'s lines can be found together', async () => {
    // Prepare: a poison record makes the handler log an error line (the log level here is ERROR)
    const poison = toSqsRecord({ MessageBody: '{"type":"x"}', MessageAttributes: {} });
    const context = lambdaContext('consumer', 60_000);
    const output = captureOutput();

    // Act
    try {
      await handler(sqsEvent([poison]), context);
    } finally {
      output.restore();
    }

    // Assess
    const lines = output.jsonLines().filter((line) => line.message === 'record failed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ messageId: poison.messageId, function_request_id: context.awsRequestId });
  });

  it('moves a poison message to the dead-letter queue once it has been received maxReceiveCount times', async () => {
    // Prepare
    const { QueueUrl: dlqUrl } = await sqsS3.sqs.send(new CreateQueueCommand({ QueueName: 'ingest-dlq' }));
    const { Attributes } = await sqsS3.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }));
    const { QueueUrl: redriveQueueUrl } = await sqsS3.sqs.send(
      new CreateQueueCommand({ QueueName: 'ingest-redrive', Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: '2' }) } }),
    );
    await sqsS3.sqs.send(new SendMessageCommand({ QueueUrl: redriveQueueUrl, MessageBody: 'not an event', MessageAttributes: {} }));

    // Act
    const responses = await drain(redriveQueueUrl);

    // Assess
    expect(responses).toHaveLength(2);
    expect(responses.every((response) => response.batchItemFailures.length === 1)).toBe(true);
    const { Messages = [] } = await sqsS3.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10 }));
    expect(Messages.map((message) => message.Body)).toEqual(['not an event']);
  });

  it('stores every event although DynamoDB throttles the first calls, by letting the queue redeliver', async () => {
    // Prepare
    // With the SDK's own retries off every injected throttle fails a record: the harshest case, and deterministic.
    process.env.AWS_MAX_ATTEMPTS = '1';
    const throttledClient = createDynamoDbDocumentClient();
    let throttlesLeft = 7;
    throttledClient.middlewareStack.add(
      (next) => async (args) => {
        if (throttlesLeft > 0) {
          throttlesLeft--;
          throw new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds the allowed throughput (injected)', $metadata: { httpStatusCode: 400 } });
        }
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'injectThrottling' },
    );
    const throttledHandler = createConsumerHandler(
      { ...s3EventPorts(s3, BUCKET), store: createConversationStore({ documentClient: throttledClient, s3, tableName, bucketName: BUCKET }) },
      createObservability('consumer-test'),
    );
    const conversationIds = Array.from({ length: 5 }, newConversationId);
    for (const id of conversationIds) await send(await publish('post_call_transcription', transcriptionData(id), 1767268920));

    // Act
    let responses: SQSBatchResponse[];
    try {
      responses = await drain(queueUrl, throttledHandler);
    } finally {
      delete process.env.AWS_MAX_ATTEMPTS;
      throttledClient.destroy();
    }

    // Assess
    expect(throttlesLeft).toBe(0);
    expect(responses.flatMap((response) => response.batchItemFailures)).toHaveLength(7);
    expect(responses.at(-1)?.batchItemFailures).toEqual([]);
    for (const id of conversationIds) expect(await reader.getConversation(id)).toMatchObject({ conversation_id: id, record_version: 1 });
  });

  it('loses nothing when ten events of one conversation arrive in one batch and are processed in parallel', async () => {
    // Prepare
    const conversationId = newConversationId();
    const events = [
      ...(await Promise.all([500, 200, 400, 300].map((time) => publish('post_call_transcription', transcriptionData(conversationId, { summary: `at ${time}` }), time)))),
      ...(await Promise.all([150, 350, 250].map((time) => publish('post_call_audio', audioData(conversationId, pseudoRandomBytes(100 + time, time)), time)))),
      ...(await Promise.all([160, 360, 260].map((time) => publish('call_initiation_failure', failureData(conversationId, `reason ${time}`), time)))),
    ];

    // Act
    const response = await handler(sqsEvent(events.map((event) => toSqsRecord(event.message))));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const record = await reader.getConversation(conversationId);
    expect(record?.events).toHaveLength(10);
    expect(record).toMatchObject({ record_version: 10, transcript_summary: 'at 500', audio: { bytes: 450 }, initiation_failure: { failure_reason: 'reason 360' } });
  });

  it('stores unknown event types where get and list find them', async () => {
    // Prepare
    const conversationId = newConversationId();
    const withConversation = await publish('post_call_sentiment', { conversation_id: conversationId, agent_id: AGENT_ID, mood: 'calm' }, 1767400000);
    const withoutConversation = await publish('workspace_notice', { notice: 'quota' }, 1767400100);

    // Act
    await processInOrder([withConversation, withoutConversation]);

    // Assess
    expect(await reader.getConversation(conversationId)).toMatchObject({ event_types: ['post_call_sentiment'], agent_id: AGENT_ID, unknown_events: [{ data: { mood: 'calm' } }] });
    const listed: ConversationRecord[] = [];
    for await (const record of reader.listConversations({ since: 1767400000, until: 1767400100, status: 'unknown_event' })) listed.push(record);
    expect(listed).toEqual([expect.objectContaining({ conversation_id: `unknown#${withoutConversation.attributes.bodySha256}`, unknown_events: [expect.objectContaining({ data: { notice: 'quota' } })] })]);
  });

  it('counts each outcome in the contract metrics', async () => {
    // Prepare
    const addMetric = vi.fn();
    const metrics = { addMetric, publishStoredMetrics: vi.fn() } as unknown as Metrics;
    const countingHandler = createConsumerHandler(
      { ...s3EventPorts(s3, BUCKET), store: createConversationStore({ documentClient, s3, tableName, bucketName: BUCKET }) },
      { logger: createObservability('consumer-test').logger, metrics },
    );
    const conversationId = newConversationId();
    const first = await publish('post_call_transcription', transcriptionData(conversationId, { extra: { transcript: [{ role: 'user', message: 'x'.repeat(400_000) }] } }), 1);
    const second = await publish('post_call_audio', audioData(conversationId, pseudoRandomBytes(10)), 2);
    const unknown = await publish('post_call_sentiment', { conversation_id: conversationId }, 3);

    // Act
    await countingHandler(sqsEvent([toSqsRecord(first.message)]));
    await countingHandler(sqsEvent([second, unknown, first].map((event) => toSqsRecord(event.message)).concat(toSqsRecord({ MessageBody: '', MessageAttributes: {} }))));

    // Assess
    const counts = Object.fromEntries(['ConversationStored', 'ConversationMerged', 'DuplicateEvent', 'UnknownEventStored', 'RecordFailed', 'TranscriptOffloaded'].map((name) => [name, addMetric.mock.calls.filter(([metric]) => metric === name).length]));
    expect(counts).toEqual({ ConversationStored: 3, ConversationMerged: 2, DuplicateEvent: 1, UnknownEventStored: 1, RecordFailed: 1, TranscriptOffloaded: 1 });
  });
});

describe('consumer configuration', () => {
  it('names every missing variable in one ConfigurationError', () => {
    // Prepare
    const saved = { table: process.env.CONVERSATIONS_TABLE_NAME, bucket: process.env.CONVERSATION_BUCKET_NAME };
    delete process.env.CONVERSATIONS_TABLE_NAME;
    delete process.env.CONVERSATION_BUCKET_NAME;

    // Act
    let thrown: unknown;
    try {
      readConsumerConfig();
    } catch (error) {
      thrown = error;
    } finally {
      Object.assign(process.env, { CONVERSATIONS_TABLE_NAME: saved.table, CONVERSATION_BUCKET_NAME: saved.bucket });
    }

    // Assess
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect((thrown as Error).message).toContain('CONVERSATIONS_TABLE_NAME');
    expect((thrown as Error).message).toContain('CONVERSATION_BUCKET_NAME');
  });
});
