import { DEFAULT_SECRET_CACHE_TTL_SECS, DEFAULT_SIGNATURE_MAX_FUTURE_SKEW_SECS, ENV, SERVICE } from '../core/contract.js';
import { createEnvReader, type Environment } from '../core/env-reader.js';

/** The receiver's settings, read once at start-up. */
export interface ReceiverConfig {
  /** Secrets Manager id of the webhook secret(s) (WEBHOOK_SECRET_NAME). */
  readonly webhookSecretName: string;
  /** The ingest queue (INGEST_QUEUE_URL). */
  readonly queueUrl: string;
  /** The conversation bucket; events are archived under `events/` (CONVERSATION_BUCKET_NAME). */
  readonly bucketName: string;
  /** Seconds a signature timestamp may lie in the future (SIGNATURE_MAX_FUTURE_SKEW_SECS). @default 300 */
  readonly signatureMaxFutureSkewSecs: number;
  /** How long the secret list is cached (SECRET_CACHE_TTL_SECS). @default 300 */
  readonly secretCacheTtlSecs: number;
  /** Source IPs allowed to call (ALLOWED_SOURCE_IPS, comma-separated); empty allows any. */
  readonly allowedSourceIps: readonly string[];
}

export { DEFAULT_SIGNATURE_MAX_FUTURE_SKEW_SECS };

/** Reads and validates `env`; one ConfigurationError names every missing or invalid variable. */
export function readReceiverConfig(env: Environment = process.env): ReceiverConfig {
  const read = createEnvReader(SERVICE.receiver, env);
  return read.done({
    webhookSecretName: read.required(ENV.webhookSecretName),
    queueUrl: read.required(ENV.ingestQueueUrl),
    bucketName: read.required(ENV.conversationBucketName),
    signatureMaxFutureSkewSecs: read.seconds(ENV.signatureMaxFutureSkewSecs, DEFAULT_SIGNATURE_MAX_FUTURE_SKEW_SECS),
    secretCacheTtlSecs: read.seconds(ENV.secretCacheTtlSecs, DEFAULT_SECRET_CACHE_TTL_SECS),
    allowedSourceIps: read.ipList(ENV.allowedSourceIps),
  });
}
