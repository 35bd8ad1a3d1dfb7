import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ReadSecret } from '../core/aws/secrets.js';
import { apiKeyFromSecret } from '../core/backfill/api-key.js';
import { ElevenLabsApiClient } from '../core/backfill/elevenlabs-api.js';
import { createPollerLease } from '../core/backfill/poller-lease.js';
import { createWatermarkStore } from '../core/backfill/poller-watermark.js';
import { createAwsRecordingArchive } from '../core/backfill/recording-publish.js';
import { createAwsPublishPorts } from '../core/ingest/publish-event.js';
import type { PollerConfig } from './config.js';
import type { PollerHandlerDependencies } from './poll-handler.js';

/** The clients the poller uses; `fetch` reaches the ElevenLabs API (a fake one locally and in tests). */
export interface PollerClients {
  readonly documentClient: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly readSecret: ReadSecret;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** The poller's dependencies from its configuration and clients. */
export function pollerDependencies(config: PollerConfig, clients: PollerClients): PollerHandlerDependencies {
  return {
    settings: {
      settleDelaySecs: config.settleDelaySecs,
      overlapSecs: config.overlapSecs,
      initialLookbackSecs: config.initialLookbackSecs,
      backfillRecordings: config.backfillRecordings,
      recordingMissingAfterSecs: config.recordingMissingAfterSecs,
      ...(config.maxPendingAgeSecs === 0 ? {} : { maxPendingAgeSecs: config.maxPendingAgeSecs }),
    },
    // Cached for SECRET_CACHE_TTL_SECS by Powertools.
    async readApiKey(forceFetch = false) {
      return apiKeyFromSecret(await clients.readSecret(config.apiKeySecretName, { maxAge: config.secretCacheTtlSecs, forceFetch }), config.apiKeySecretName);
    },
    createApi: (apiKey, onApiError) =>
      new ElevenLabsApiClient({ apiKey, baseUrl: config.apiBaseUrl, onApiError, ...(clients.fetch === undefined ? {} : { fetch: clients.fetch }) }),
    storage: {
      documentClient: clients.documentClient,
      conversationsTableName: config.conversationsTableName,
      publishPorts: createAwsPublishPorts(clients.s3, clients.sqs, config.bucketName, config.queueUrl),
      recordingArchive: createAwsRecordingArchive(clients.s3, config.bucketName),
    },
    ...(config.webhookUrl === undefined ? {} : { webhookUrl: config.webhookUrl }),
    watermark: createWatermarkStore(clients.documentClient, config.pollerStateTableName),
    lease: createPollerLease(clients.documentClient, config.pollerStateTableName),
  };
}
