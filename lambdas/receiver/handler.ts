/**
 * API Gateway HTTP API (payload 2.0) → verified webhook → S3 archive + SQS. Configuration, clients and the secret
 * cache live at module scope, so they are built once per execution environment.
 */
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { createS3Client } from '../core/aws/s3.js';
import { createSqsClient } from '../core/aws/sqs.js';
import { createObservability } from '../core/observability.js';
import { createAwsPublishPorts } from '../core/ingest/publish-event.js';
import { createWebhookSecrets } from '../core/ingest/webhook-secrets.js';
import { readReceiverConfig } from './config.js';
import { createReceiverHandler, type ReceiverHandler } from './receive-webhook.js';

const config = readReceiverConfig();
const observability = createObservability('receiver');

const secrets = createWebhookSecrets({
  // Our cache decides when to read; Powertools' own cache would only delay a rotation further.
  fetchSecretString: () => getSecret(config.webhookSecretName, { forceFetch: true }),
  ttlSecs: config.secretCacheTtlSecs,
  onStaleSecretsKept: (error) => observability.logger.warn('webhook secret refresh failed; the cached secrets stay in use', { errorName: error.name }),
});

export const handler: ReceiverHandler = createReceiverHandler(
  {
    secrets,
    publishPorts: createAwsPublishPorts(createS3Client(), createSqsClient(), config.bucketName, config.queueUrl),
    maxFutureSkewSecs: config.signatureMaxFutureSkewSecs,
    allowedSourceIps: config.allowedSourceIps,
  },
  observability,
);
