/**
 * The local pipeline's handlers: the same factories, config readers and dependency wiring as the deployed functions
 * (lambdas/<function>/handler.ts), given an explicit environment and clients pointed at the local emulators, so
 * nothing here reads or writes process.env and several pipelines can run in one process.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { createDynamoDbDocumentClient } from '../../lambdas/core/aws/dynamodb.js';
import { createS3Client } from '../../lambdas/core/aws/s3.js';
import { createSecretReader } from '../../lambdas/core/aws/secrets.js';
import { createSqsClient } from '../../lambdas/core/aws/sqs.js';
import { ENV, FUNCTION_ENVIRONMENT, SERVICE, type EnvName } from '../../lambdas/core/contract.js';
import type { Environment } from '../../lambdas/core/env-reader.js';
import { createObservability, type ObservabilityOptions } from '../../lambdas/core/observability.js';
import { readConsumerConfig } from '../../lambdas/consumer/config.js';
import { createConsumerHandler, type ConsumerHandler } from '../../lambdas/consumer/consume-batch.js';
import { consumerDependencies } from '../../lambdas/consumer/dependencies.js';
import { readPollerConfig } from '../../lambdas/poller/config.js';
import { pollerDependencies } from '../../lambdas/poller/dependencies.js';
import { createPollerHandler, type PollerHandler } from '../../lambdas/poller/poll-handler.js';
import { createAnalyticsRowsHandler, type AnalyticsRowsHandler } from '../../lambdas/analytics/build-rows.js';
import { readAnalyticsConfig } from '../../lambdas/analytics/config.js';
import type { TableStreamRecord } from '../../lambdas/core/changes/stream-record.js';
import { conversationObjects } from '../../lambdas/core/record/conversation-objects.js';
import { createChangeEventsHandler, type ChangeEventsHandler } from '../../lambdas/events/build-events.js';
import { readEventsConfig } from '../../lambdas/events/config.js';
import { readReceiverConfig } from '../../lambdas/receiver/config.js';
import { enforceDynamoDbLimits, enforceSqsLimits } from './strict-emulators.js';
import { receiverDependencies } from '../../lambdas/receiver/dependencies.js';
import { createReceiverHandler, type ReceiverHandler } from '../../lambdas/receiver/receive-webhook.js';
import { captureTableStream } from './table-stream.js';

/** Poller settings a user may set for the local poller, as the stack's context keys set them in AWS (the poller's optional variables). */
export const LOCAL_POLLER_SETTINGS: readonly EnvName[] = FUNCTION_ENVIRONMENT.poller.optional;

/** The change-stream settings a user may set locally, as context keys set them in AWS (eventsIncludePersonalData, analyticsIncludeTranscripts). */
export const LOCAL_STREAM_SETTINGS: readonly EnvName[] = [...FUNCTION_ENVIRONMENT.events.optional, ...FUNCTION_ENVIRONMENT.analytics.optional];

export interface LocalHandlerOptions {
  readonly region: string;
  /** What the handlers sign with; the access key id is also the token the Secrets Manager stand-in checks. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly endpoints: { readonly dynamodb: string; readonly sqsS3: string; readonly secretsManager: string };
  readonly resources: {
    readonly queueUrl: string;
    readonly bucketName: string;
    readonly tableName: string;
    readonly stateTableName: string;
    readonly webhookSecretName: string;
    readonly apiKeySecretName: string;
    /** The webhook URL the poller checks the ElevenLabs webhook of; none: no check. */
    readonly webhookUrl?: string;
  };
  /** The user's settings (LOCAL_POLLER_SETTINGS and LOCAL_STREAM_SETTINGS are passed on to the config readers). */
  readonly env: Environment;
  /** Told of every change of the conversations table, as its DynamoDB stream would carry it. */
  readonly onTableChange?: (record: TableStreamRecord) => void;
  /** Build the poller too (an API key is configured). */
  readonly withPoller: boolean;
  readonly observability: ObservabilityOptions;
}

export interface LocalHandlers {
  readonly receiver: ReceiverHandler;
  readonly consumer: ConsumerHandler;
  readonly poller?: PollerHandler;
  /** The two pipes' enrichments (events, dataset rows). */
  readonly events: ChangeEventsHandler;
  readonly analytics: AnalyticsRowsHandler;
  /** The handlers' S3 client (the local pipes write the dataset with it). */
  readonly s3: S3Client;
  /** Closes the handlers' clients. */
  destroy(): void;
}

/** Builds every handler the way its Lambda entry does, on the local emulators. */
export function buildLocalHandlers(options: LocalHandlerOptions): LocalHandlers {
  const { region, credentials, endpoints, resources } = options;
  const documentClient = createDynamoDbDocumentClient({ region, credentials, endpoint: endpoints.dynamodb });
  // Only for the strict layer's DescribeTable (see enforceDynamoDbLimits).
  const schemaClient = new DynamoDBClient({ region, credentials, endpoint: endpoints.dynamodb });
  const s3 = createS3Client({ region, credentials, endpoint: endpoints.sqsS3 });
  const sqs = createSqsClient({ region, credentials, endpoint: endpoints.sqsS3 });
  // The emulators accept what AWS refuses; the strict layer makes these clients refuse it as AWS would.
  enforceDynamoDbLimits(documentClient, schemaClient);
  enforceSqsLimits(sqs);
  const readSecret = createSecretReader({ region, credentials, endpoint: endpoints.secretsManager });
  const observability = (service: string) => createObservability(service, options.observability);

  const receiverObservability = observability(SERVICE.receiver);
  const receiverConfig = readReceiverConfig({
    [ENV.webhookSecretName]: resources.webhookSecretName,
    [ENV.ingestQueueUrl]: resources.queueUrl,
    [ENV.conversationBucketName]: resources.bucketName,
  });
  const consumerConfig = readConsumerConfig({ [ENV.conversationsTableName]: resources.tableName, [ENV.conversationBucketName]: resources.bucketName });
  const streamSettings = Object.fromEntries(LOCAL_STREAM_SETTINGS.map((name) => [name, options.env[name]]));
  const analyticsConfig = readAnalyticsConfig({ ...streamSettings, [ENV.conversationBucketName]: resources.bucketName });
  if (options.onTableChange !== undefined) captureTableStream(documentClient, { tableName: resources.tableName, region, onRecord: options.onTableChange });
  const handlers = {
    s3,
    receiver: createReceiverHandler(receiverDependencies(receiverConfig, { s3, sqs, readSecret }, receiverObservability), receiverObservability),
    consumer: createConsumerHandler(consumerDependencies(consumerConfig, { s3, documentClient }), observability(SERVICE.consumer)),
    events: createChangeEventsHandler(readEventsConfig(streamSettings), observability(SERVICE.events)),
    analytics: createAnalyticsRowsHandler(
      { objects: conversationObjects({ s3, bucketName: analyticsConfig.bucketName }), includeTranscripts: analyticsConfig.includeTranscripts },
      observability(SERVICE.analytics),
    ),
  };
  const destroy = () => [documentClient, schemaClient, s3, sqs].forEach((client) => client.destroy());
  if (!options.withPoller) return { ...handlers, destroy };

  const userSettings = Object.fromEntries(LOCAL_POLLER_SETTINGS.map((name) => [name, options.env[name]]));
  const pollerConfig = readPollerConfig({
    ...userSettings,
    [ENV.webhookUrl]: resources.webhookUrl ?? '',
    [ENV.conversationsTableName]: resources.tableName,
    [ENV.pollerStateTableName]: resources.stateTableName,
    [ENV.ingestQueueUrl]: resources.queueUrl,
    [ENV.conversationBucketName]: resources.bucketName,
    [ENV.apiKeySecretName]: resources.apiKeySecretName,
  });
  const poller = createPollerHandler(pollerDependencies(pollerConfig, { documentClient, s3, sqs, readSecret }), observability(SERVICE.poller));
  return { ...handlers, poller, destroy };
}
