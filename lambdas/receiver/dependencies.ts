import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { ReadSecret } from '../core/aws/secrets.js';
import { createAwsPublishPorts } from '../core/ingest/publish-event.js';
import { createWebhookSecrets } from '../core/ingest/webhook-secrets.js';
import { RECEIVER_METRIC } from '../core/contract.js';
import { MetricUnit, type Observability } from '../core/observability.js';
import type { ReceiverConfig } from './config.js';
import type { ReceiveWebhookDependencies } from './receive-webhook.js';

/** The clients the receiver uses; handler.ts passes real ones, the local pipeline ones pointed at its emulators. */
export interface ReceiverClients {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly readSecret: ReadSecret;
}

/** The receiver's dependencies from its configuration and clients. */
export function receiverDependencies(config: ReceiverConfig, clients: ReceiverClients, { logger, metrics }: Observability): ReceiveWebhookDependencies {
  const secrets = createWebhookSecrets({
    // Our cache decides when to read; Powertools' own cache would only delay a rotation further.
    fetchSecretString: () => clients.readSecret(config.webhookSecretName, { forceFetch: true }),
    ttlSecs: config.secretCacheTtlSecs,
    onStaleSecretsKept: (error) => logger.warn('webhook secret refresh failed; the cached secrets stay in use', { errorName: error.name }),
    onEmptyEntriesIgnored: (count) => {
      logger.warn('webhook secret value has empty entries; they are ignored', { emptyEntries: count });
      metrics.addMetric(RECEIVER_METRIC.emptySecretEntriesIgnored, MetricUnit.Count, count);
    },
  });
  return {
    secrets,
    publishPorts: createAwsPublishPorts(clients.s3, clients.sqs, config.bucketName, config.queueUrl),
    maxFutureSkewSecs: config.signatureMaxFutureSkewSecs,
    allowedSourceIps: config.allowedSourceIps,
  };
}
