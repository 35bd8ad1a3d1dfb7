/**
 * What the pipeline benchmarks share: the embedded emulators (fauxqs for SQS + S3 on 127.0.0.1, dynalite in memory)
 * with clients and the local pipeline's resources, silenced handler logs and metrics, and the sample payload.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { publishEvent, type QueuedMessage } from '../../lambdas/core/ingest/publish-event.js';
import { parseWebhookEvent } from '../../lambdas/core/ingest/webhook-event.js';
import type { ObservabilityOptions } from '../../lambdas/core/observability.js';
import { LOCAL_RESOURCE_NAMES } from '../local/endpoints.js';
import { emulatorCredentials, emulatorRegion, startDynamoDbEmulator, startLocalSqsS3Emulator, type DynamoDbEmulator } from '../local/emulators.js';
import { ensureLocalResources, type LocalResourceNames, type LocalResources } from '../local/resources.js';
import { readSamplePayload } from '../local/sample-payloads.js';

export interface BenchAws {
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  readonly dynamo: DynamoDbEmulator;
  /** fauxqs (SQS and S3), `http://127.0.0.1:<port>`. */
  readonly sqsS3Endpoint: string;
  readonly names: LocalResourceNames;
  readonly resources: LocalResources;
  /** Destroys the clients and stops both emulators (all state is in memory: nothing is left behind). */
  stop(): Promise<void>;
}

/** Starts both emulators and creates the local pipeline's table, queue and bucket on them. */
export async function startBenchAws(): Promise<BenchAws> {
  const [dynamoStart, sqsS3Start] = await Promise.allSettled([startDynamoDbEmulator(), startLocalSqsS3Emulator({ port: 0 })]);
  const dynamo = dynamoStart.status === 'fulfilled' ? dynamoStart.value : undefined;
  const sqsS3 = sqsS3Start.status === 'fulfilled' ? sqsS3Start.value : undefined;
  const stopEmulators = () => Promise.all([dynamo?.stop(), sqsS3?.stop()]).then(() => undefined);
  if (dynamo === undefined || sqsS3 === undefined) {
    await stopEmulators();
    throw dynamoStart.status === 'rejected' ? dynamoStart.reason : (sqsS3Start as PromiseRejectedResult).reason;
  }

  const clientConfig = { endpoint: sqsS3.endpoint, region: emulatorRegion, credentials: emulatorCredentials };
  const sqs = new SQSClient(clientConfig);
  const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
  const stop = async () => {
    sqs.destroy();
    s3.destroy();
    await stopEmulators();
  };
  try {
    const names = LOCAL_RESOURCE_NAMES;
    const resources = await ensureLocalResources({ dynamodb: dynamo.client, sqs, s3, names });
    return { sqs, s3, dynamo, sqsS3Endpoint: sqsS3.endpoint, names, resources, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Handlers measured by a benchmark log nothing and drop their metrics, so it prints only its table. */
export const SILENT_OBSERVABILITY: ObservabilityOptions = { logLevel: 'SILENT', metrics: 'discard' };

const SAMPLE_CONVERSATION_ID = 'conv_01jz9a7b6c5d4e3f2g1h0j9k8m';
let sampleTranscription: string | undefined;

/**
 * The sample post_call_transcription body (bin/local/samples: a documented-schema payload, every identifier
 * made up) with its conversation id replaced, so each benchmark request is a distinct conversation.
 */
export function sampleTranscriptionBody(conversationId: string): Buffer {
  sampleTranscription ??= readSamplePayload('post_call_transcription').toString('utf8');
  return Buffer.from(sampleTranscription.split(SAMPLE_CONVERSATION_ID).join(conversationId), 'utf8');
}
/** The SQS record Lambda would deliver for a message (the shape test/support/conversation-events.ts toSqsRecord builds). */
export function sqsRecordFor(message: QueuedMessage, messageId: string, queueArn: string): SQSRecord {
  const now = String(Date.now());
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body: message.MessageBody,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: now, SenderId: 'bench', ApproximateFirstReceiveTimestamp: now },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes).map(([name, value]) => [name, { stringValue: value.StringValue, dataType: value.DataType ?? 'String' }]),
    ),
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: emulatorRegion,
  };
}


/**
 * The SQS record the consumer would receive for a webhook body, encoded by the production publish path (publishEvent)
 * with ports that keep the message instead of sending it. The archive write is skipped: inline messages carry their
 * body, so the consumer never reads it.
 */
export async function queuedRecordFor(rawBody: Buffer, messageId: string, aws: BenchAws): Promise<SQSRecord> {
  let queued: QueuedMessage | undefined;
  await publishEvent(
    { rawBody, event: parseWebhookEvent(rawBody.toString('utf8')), source: 'webhook', receivedAt: new Date() },
    {
      bucketName: aws.names.bucketName,
      putArchiveObject: async () => undefined,
      deleteArchiveObject: async () => undefined,
      sendMessage: async (message) => {
        queued = message;
      },
    },
  );
  if (queued === undefined) throw new Error('publishEvent sent no message');
  return sqsRecordFor(queued, messageId, aws.resources.queueArn);
}
