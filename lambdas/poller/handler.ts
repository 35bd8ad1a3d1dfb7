/**
 * EventBridge Scheduler → one reconciliation run (runPoller). Configuration, clients and the API-key cache live at
 * module scope, built once per execution environment; each run gets the Lambda's remaining time as its budget.
 * A failed run (bad key, API or storage down) throws, so Lambda records an error; the watermark stays where it was.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { Context } from 'aws-lambda';
import { createDynamoDbDocumentClient } from '../core/aws/dynamodb.js';
import { createS3Client } from '../core/aws/s3.js';
import { createSqsClient } from '../core/aws/sqs.js';
import { readStoredConversations } from '../core/backfill/conversation-presence.js';
import { ElevenLabsApiClient, ElevenLabsApiError, ElevenLabsAuthError, type ApiErrorStatus } from '../core/backfill/elevenlabs-api.js';
import { ConfigurationError, StorageError, assertIsError } from '../core/errors.js';
import { MetricUnit, createObservability } from '../core/observability.js';
import { createWatermarkStore } from '../core/backfill/poller-watermark.js';
import { createAwsPublishPorts, publishEvent } from '../core/ingest/publish-event.js';
import { runPoller, type MetricsSink, type PollerRunResult } from '../core/backfill/reconcile.js';
import { readPollerConfig } from './config.js';

const config = readPollerConfig();
const { logger, metrics } = createObservability('poller');
const documentClient = createDynamoDbDocumentClient();
const publishPorts = createAwsPublishPorts(createS3Client(), createSqsClient(), config.bucketName, config.queueUrl);
const watermark = createWatermarkStore(documentClient, config.pollerStateTableName);

/** PollerMetricName → Powertools; a dimensioned metric gets its own EMF document so the dimension applies to it alone. */
function powertoolsSink(target: Metrics): MetricsSink {
  return {
    add(name, unit, value, dimension) {
      const metricUnit = unit === 'Seconds' ? MetricUnit.Seconds : MetricUnit.Count;
      if (dimension === undefined) {
        target.addMetric(name, metricUnit, value);
        return;
      }
      const single = target.singleMetric();
      single.addDimension(dimension.name, dimension.value);
      single.addMetric(name, metricUnit, value);
    },
  };
}

const sink = powertoolsSink(metrics);

/** The API key from Secrets Manager, cached for SECRET_CACHE_TTL_SECS by Powertools. */
async function readApiKey(forceFetch = false): Promise<string> {
  const value = await getSecret(config.apiKeySecretName, { maxAge: config.secretCacheTtlSecs, forceFetch });
  if (typeof value !== 'string' || value.trim() === '') throw new ConfigurationError(`the secret ${config.apiKeySecretName} holds no ElevenLabs API key`);
  return value.trim();
}

/** One poll; returns the run's counts (useful in the console and in tests). */
export const handler = async (_event: unknown, context: Context): Promise<PollerRunResult> => {
  logger.addContext(context);
  // Failed attempts are summed per status and emitted once, so a burst of 429s is one data point, not hundreds.
  const apiErrors = new Map<string, number>();
  const countApiError = (status: ApiErrorStatus) => apiErrors.set(String(status), (apiErrors.get(String(status)) ?? 0) + 1);
  try {
    let apiKey: string;
    try {
      apiKey = await readApiKey();
    } catch (error) {
      sink.add('PollerRunFailed', 'Count', 1);
      throw error;
    }
    const api = new ElevenLabsApiClient({ apiKey, baseUrl: config.apiBaseUrl, onApiError: countApiError });
    return await runPoller(
      {
        settleDelaySecs: config.settleDelaySecs,
        overlapSecs: config.overlapSecs,
        initialLookbackSecs: config.initialLookbackSecs,
        fetchMissingAudio: config.fetchMissingAudio,
        ...(config.maxPendingAgeSecs === 0 ? {} : { maxPendingAgeSecs: config.maxPendingAgeSecs }),
      },
      {
        api,
        readStored: (ids, options) => readStoredConversations(documentClient, config.conversationsTableName, ids, options),
        publish: (input) => publishEvent(input, publishPorts),
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
        watermark,
        metrics: sink,
        logger,
      },
    );
  } catch (error) {
    assertIsError(error);
    if (error instanceof ElevenLabsAuthError) {
      // Drop the cached key now, so a corrected secret is used by the very next run rather than after the cache TTL.
      await readApiKey(true).catch(() => undefined);
    }
    const cause = error.cause instanceof Error ? error.cause : undefined;
    // Messages only from our own error types; anything else (e.g. a JSON SyntaxError) may quote a response body.
    const ownMessage = error instanceof ElevenLabsApiError || error instanceof StorageError || error instanceof ConfigurationError;
    logger.error('poll failed', { errorName: error.name, ...(ownMessage ? { errorMessage: error.message } : {}), causeName: cause?.name });
    throw error;
  } finally {
    for (const [status, count] of apiErrors) sink.add('ApiError', 'Count', count, { name: 'status', value: status });
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
};
