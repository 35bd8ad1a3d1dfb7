/**
 * What the recording-backfill benchmark's processes share: the poller's ports and the consumer handler, wired as
 * lambdas/poller and lambdas/consumer wire them, on the emulators of recording-emulators.ts (another process).
 */
import type { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createConsumerHandler, type ConsumerHandler } from '../../lambdas/consumer/consume-batch.js';
import { readConsumerConfig } from '../../lambdas/consumer/config.js';
import { consumerDependencies } from '../../lambdas/consumer/dependencies.js';
import { ElevenLabsApiClient } from '../../lambdas/core/backfill/elevenlabs-api.js';
import { createReconcilePorts } from '../../lambdas/core/backfill/reconcile-ports.js';
import { reconcileRange, type ReconcilePorts, type ReconcileSummary } from '../../lambdas/core/backfill/reconcile-range.js';
import { createAwsRecordingArchive } from '../../lambdas/core/backfill/recording-publish.js';
import { ENV, POLLER_DEFAULTS, SERVICE } from '../../lambdas/core/contract.js';
import { streamDigest } from '../../lambdas/core/hash.js';
import { createAwsPublishPorts } from '../../lambdas/core/ingest/publish-event.js';
import { createObservability } from '../../lambdas/core/observability.js';
import { createConversationReader, type ConversationReader } from '../../lambdas/core/record/conversation-reader.js';
import { emulatorCredentials, emulatorRegion } from '../local/emulators.js';
import { lambdaContext } from '../local/lambda-context.js';
import { SILENT_OBSERVABILITY, sqsRecordFor } from './harness.js';
import type { RecordingEmulators } from './recording-emulators.js';

/** The poller's budget in the benchmark: the deployed function's timeout. */
const POLLER_BUDGET_MS = 5 * 60 * 1000;

export interface RecordingBench {
  readonly emulators: RecordingEmulators;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly ports: ReconcilePorts;
  readonly consumer: ConsumerHandler;
  readonly reader: ConversationReader;
  destroy(): void;
}

/** Clients, the poller's ports and the consumer handler of this process, all on the emulator process. */
export function wireRecordingBench(emulators: RecordingEmulators): RecordingBench {
  const common = { region: emulatorRegion, credentials: emulatorCredentials };
  const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ ...common, endpoint: emulators.dynamodbEndpoint }), { marshallOptions: { removeUndefinedValues: true } });
  const s3 = new S3Client({ ...common, endpoint: emulators.sqsS3Endpoint, forcePathStyle: true });
  const sqs = new SQSClient({ ...common, endpoint: emulators.sqsS3Endpoint });
  const storage = {
    documentClient,
    conversationsTableName: emulators.tableName,
    publishPorts: createAwsPublishPorts(s3, sqs, emulators.bucketName, emulators.queueUrl),
    recordingArchive: createAwsRecordingArchive(s3, emulators.bucketName),
  };
  const ports = createReconcilePorts(storage, new ElevenLabsApiClient({ apiKey: emulators.apiKey, baseUrl: emulators.apiUrl }), {
    remainingTimeMs: lambdaContext('poller-bench', POLLER_BUDGET_MS).getRemainingTimeInMillis,
  });
  const config = readConsumerConfig({ [ENV.conversationsTableName]: emulators.tableName, [ENV.conversationBucketName]: emulators.bucketName });
  const consumer = createConsumerHandler(consumerDependencies(config, { s3, documentClient }), createObservability(SERVICE.consumer, SILENT_OBSERVABILITY));
  const reader = createConversationReader({ documentClient, s3, tableName: emulators.tableName, bucketName: emulators.bucketName });
  return { emulators, s3, sqs, ports, consumer, reader, destroy: () => [documentClient, s3, sqs].forEach((client) => client.destroy()) };
}

/** The poller's reconciliation of [start, start + 1): exactly one conversation, with default settings. */
export function reconcileOne(bench: RecordingBench, startTimeUnixSecs: number, backfillRecordings: boolean): Promise<ReconcileSummary> {
  const input = { after: startTimeUnixSecs, before: startTimeUnixSecs + 1, settleDelaySecs: POLLER_DEFAULTS.settleDelaySecs, backfillRecordings, dryRun: false };
  return reconcileRange(input, bench.ports);
}

/** Everything on the queue through the consumer handler, as the event source would: delivered, then deleted. */
export async function consumeQueue(bench: RecordingBench): Promise<number> {
  const { queueUrl, queueArn } = bench.emulators;
  let consumed = 0;
  for (;;) {
    const { Messages = [] } = await bench.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }));
    if (Messages.length === 0) return consumed;
    const records = Messages.map((message, index) => sqsRecordFor({ MessageBody: message.Body ?? '', MessageAttributes: message.MessageAttributes ?? {} }, message.MessageId ?? `m${consumed + index}`, queueArn));
    const response = await bench.consumer({ Records: records }, lambdaContext('consumer-bench', 60_000));
    if (response.batchItemFailures.length > 0) throw new Error(`the consumer failed ${response.batchItemFailures.length} record(s)`);
    await bench.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '' })) }));
    consumed += records.length;
  }
}

/** Size and SHA-256 of the stored recording of a conversation, streamed; undefined when the record has none. */
export async function storedRecordingDigest(bench: RecordingBench, conversationId: string): Promise<{ bytes: number; sha256: string } | undefined> {
  const record = await bench.reader.getConversation(conversationId, { includeTranscript: false });
  if (record?.audio === undefined) return undefined;
  const object = await bench.s3.send(new GetObjectCommand({ Bucket: bench.emulators.bucketName, Key: record.audio.s3_key }));
  return streamDigest(object.Body as Readable);
}
