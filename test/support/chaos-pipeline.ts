/**
 * The whole pipeline in this process, wired as the stack wires it, with a fault-injecting proxy between our code and
 * each emulator: receiver behind the local HTTP API → S3 archive + SQS (fauxqs) → the SQS event source loop → consumer
 * → DynamoDB (dynalite), and the poller against a fake ElevenLabs API. The production factories build every piece
 * (createReceiverHandler, createConsumerHandler, runPoller, the SDK clients with their default retries); only what
 * stands for AWS itself (the event source mapping, the emulators) bypasses the proxies.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient, type MessageAttributeValue } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { emulatorCredentials, emulatorRegion, startDynamoDbEmulator, startLocalSqsS3Emulator, type DynamoDbEmulator, type LocalSqsS3Emulator } from '../../bin/local/emulators.js';
import { FAKE_API_KEY, type FakeElevenLabsApi } from '../../bin/local/fake-elevenlabs-api.js';
import { startLocalHttpApi, type LocalHttpApi } from '../../bin/local/http-api.js';
import { ensureLocalResources, type LocalResources } from '../../bin/local/resources.js';
import { startSqsEventSource, type BatchSummary, type SqsEventSource } from '../../bin/local/sqs-event-source.js';
import { createConsumerHandler, type ConsumerHandler } from '../../lambdas/consumer/consume-batch.js';
import { createDynamoDbDocumentClient } from '../../lambdas/core/aws/dynamodb.js';
import { createS3Client } from '../../lambdas/core/aws/s3.js';
import { createConversationReader, type ConversationReader } from '../../lambdas/core/record/conversation-reader.js';
import { createConversationStore } from '../../lambdas/core/record/conversation-writer.js';
import { ElevenLabsApiClient } from '../../lambdas/core/backfill/elevenlabs-api.js';
import { s3EventPorts } from '../../lambdas/consumer/process-event.js';
import { createObservability } from '../../lambdas/core/observability.js';
import { createWatermarkStore } from '../../lambdas/core/backfill/poller-watermark.js';
import { createAwsPublishPorts } from '../../lambdas/core/ingest/publish-event.js';
import { runPoller, type PollerRunResult } from '../../lambdas/core/backfill/poller-run.js';
import { createReconcilePorts } from '../../lambdas/core/backfill/reconcile-ports.js';
import { createAwsRecordingArchive } from '../../lambdas/core/backfill/recording-publish.js';
import { createReceiverHandler } from '../../lambdas/receiver/receive-webhook.js';
import { elevenLabsSignature, nowSeconds } from '../fixtures/webhook-requests.js';
import { sdkEnvironmentFor } from './emulators.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

export const CHAOS_WEBHOOK_SECRET = 'wsec_chaos_0123456789abcdef0123456789';
/**
 * Short, so a record sent back for retry is received again soon, but longer than a batch can take while the SDK backs
 * off from injected throttles (up to a few seconds): a shorter one lets a second receiver take a record still being
 * processed, and five such receives dead-letter it, which Lambda's timeout-sized visibility never does.
 */
const VISIBILITY_TIMEOUT_SECS = 5;
export const CHAOS_MAX_RECEIVE_COUNT = 5;

/** Wraps the consumer as a crashing runtime would: it may throw after doing some or all of its work. */
export type ConsumerWrapper = (consumer: ConsumerHandler) => ConsumerHandler;

export interface ChaosPipeline {
  /** Between our clients and fauxqs (SQS + S3). */
  readonly sqsS3Proxy: FaultProxy;
  /** Between our clients and dynalite. */
  readonly dynamoDbProxy: FaultProxy;
  readonly resources: LocalResources;
  /** Reads records directly from the emulators (no faults). */
  readonly reader: ConversationReader;
  /** The consumer invocations' outcomes, in order. */
  readonly batches: BatchSummary[];
  /** Signs and POSTs one webhook body over HTTP; resolves to the status. */
  deliver(body: Uint8Array): Promise<number>;
  /** Sends a raw message to the ingest queue (bypassing the receiver), e.g. a poison message. */
  sendRawMessage(body: string, attributes?: Record<string, string>): Promise<void>;
  /** One scheduled poller run against `fake`, through the proxies. */
  runPoller(fake: FakeElevenLabsApi): Promise<PollerRunResult>;
  /** Resolves once the ingest queue holds no message (ready or in flight). */
  waitUntilQueueEmpty(timeoutMs?: number): Promise<void>;
  /** Message bodies in the dead-letter queue (received with a zero visibility timeout, so they stay). */
  deadLetterBodies(): Promise<string[]>;
  /** Every object key of the bucket under `prefix` (read directly, no faults). */
  objectKeys(prefix: string): Promise<string[]>;
  /** Replaces how the consumer is invoked (default: the consumer as is). */
  setConsumerWrapper(wrapper: ConsumerWrapper): void;
  stop(): Promise<void>;
}

let pipelineCounter = 0;

export async function startChaosPipeline(): Promise<ChaosPipeline> {
  pipelineCounter++;
  const [sqsS3, dynamo]: [LocalSqsS3Emulator, DynamoDbEmulator] = await Promise.all([startLocalSqsS3Emulator({ port: 0 }), startDynamoDbEmulator()]);
  const [sqsS3Proxy, dynamoDbProxy] = await Promise.all([startFaultProxy(sqsS3.endpoint), startFaultProxy(dynamo.endpoint)]);
  const direct = { region: emulatorRegion, credentials: emulatorCredentials };
  const directSqs = new SQSClient({ ...direct, endpoint: sqsS3.endpoint });
  const directS3 = new S3Client({ ...direct, endpoint: sqsS3.endpoint, forcePathStyle: true });
  const names = {
    tableName: `chaos-conversations-${pipelineCounter}`,
    stateTableName: `chaos-poller-state-${pipelineCounter}`,
    queueName: `chaos-ingest-${pipelineCounter}`,
    deadLetterQueueName: `chaos-ingest-dlq-${pipelineCounter}`,
    bucketName: `chaos-bucket-${pipelineCounter}`,
  };
  const resources = await ensureLocalResources({
    dynamodb: dynamo.client,
    sqs: directSqs,
    s3: directS3,
    names,
    visibilityTimeoutSecs: VISIBILITY_TIMEOUT_SECS,
    maxReceiveCount: CHAOS_MAX_RECEIVE_COUNT,
  });

  // Our code's clients, built by the production factories (so with their retry settings), reaching the emulators
  // only through the proxies, as AWS_ENDPOINT_URL_* and the credentials in the environment say. The SQS client is
  // the exception: fauxqs finds a queue by its whole URL, so it keeps the real URL and sends to its endpoint instead.
  const environment = { ...process.env };
  Object.assign(process.env, sdkEnvironmentFor({ s3: sqsS3Proxy.endpoint, dynamodb: dynamoDbProxy.endpoint }));
  const s3 = createS3Client();
  const documentClient = createDynamoDbDocumentClient();
  const sqs = new SQSClient({ ...direct, endpoint: sqsS3Proxy.endpoint, useQueueUrlAsEndpoint: false });
  const publishPorts = createAwsPublishPorts(s3, sqs, names.bucketName, resources.queueUrl);

  const receiver = createReceiverHandler(
    {
      secrets: { current: async () => [CHAOS_WEBHOOK_SECRET], refresh: async () => [CHAOS_WEBHOOK_SECRET] },
      publishPorts,
      maxFutureSkewSecs: 300,
    },
    createObservability('receiver'),
  );
  const httpApi: LocalHttpApi = await startLocalHttpApi({ port: 0, handler: (event) => receiver(event) });

  const consumer = createConsumerHandler(
    {
      ...s3EventPorts(s3, names.bucketName),
      store: createConversationStore({ documentClient, s3, tableName: names.tableName, bucketName: names.bucketName }),
    },
    createObservability('consumer'),
  );
  let wrapped: ConsumerHandler = consumer;
  const batches: BatchSummary[] = [];
  const eventSource: SqsEventSource = startSqsEventSource({
    sqs: directSqs,
    queueUrl: resources.queueUrl,
    queueArn: resources.queueArn,
    region: emulatorRegion,
    waitTimeSeconds: 1,
    concurrency: 2,
    invoke: (event: SQSEvent): Promise<SQSBatchResponse> => wrapped(event),
    onBatch: (summary) => batches.push(summary),
  });

  const directDocuments = DynamoDBDocumentClient.from(dynamo.client);
  const reader = createConversationReader({ documentClient: directDocuments, s3: directS3, tableName: names.tableName, bucketName: names.bucketName });

  const queuedMessages = async (queueUrl: string): Promise<number> => {
    const { Attributes = {} } = await directSqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }),
    );
    return Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0);
  };

  return {
    sqsS3Proxy,
    dynamoDbProxy,
    resources,
    reader,
    batches,
    async deliver(body) {
      const response = await fetch(httpApi.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'elevenlabs-signature': elevenLabsSignature(body, CHAOS_WEBHOOK_SECRET, nowSeconds()) },
        body,
      });
      await response.arrayBuffer();
      return response.status;
    },
    async sendRawMessage(body, attributes = {}) {
      const messageAttributes: Record<string, MessageAttributeValue> = Object.fromEntries(
        Object.entries(attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
      );
      await directSqs.send(new SendMessageCommand({ QueueUrl: resources.queueUrl, MessageBody: body, MessageAttributes: messageAttributes }));
    },
    runPoller(fake) {
      return runPoller(
        { settleDelaySecs: 600, overlapSecs: 3600, initialLookbackSecs: 86_400, backfillRecordings: true },
        {
          ...createReconcilePorts(
            { documentClient, conversationsTableName: names.tableName, publishPorts, recordingArchive: createAwsRecordingArchive(s3, names.bucketName) },
            new ElevenLabsApiClient({ apiKey: FAKE_API_KEY, baseUrl: fake.url, baseDelayMs: 5, maxDelayMs: 50 }),
          ),
          watermark: createWatermarkStore(documentClient, names.stateTableName),
          metrics: { add: () => undefined },
        },
      );
    },
    async waitUntilQueueEmpty(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while ((await queuedMessages(resources.queueUrl)) > 0) {
        if (Date.now() > deadline) throw new Error(`the ingest queue still holds ${await queuedMessages(resources.queueUrl)} message(s)`);
        await new Promise((resolveWait) => setTimeout(resolveWait, 50));
      }
    },
    async deadLetterBodies() {
      const { Messages = [] } = await directSqs.send(
        new ReceiveMessageCommand({ QueueUrl: resources.deadLetterQueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0, WaitTimeSeconds: 0 }),
      );
      return Messages.map((message) => message.Body ?? '');
    },
    async objectKeys(prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await directS3.send(new ListObjectsV2Command({ Bucket: names.bucketName, Prefix: prefix, ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [object.Key])));
        token = page.NextContinuationToken;
      } while (token !== undefined);
      return keys;
    },
    setConsumerWrapper(wrapper) {
      wrapped = wrapper(consumer);
    },
    async stop() {
      await httpApi.stop();
      await eventSource.stop();
      for (const client of [s3, sqs, documentClient, directSqs, directS3, directDocuments]) client.destroy();
      await Promise.all([sqsS3Proxy.stop(), dynamoDbProxy.stop()]);
      await Promise.all([sqsS3.stop(), dynamo.stop()]);
      process.env = environment;
    },
  };
}
