import { DEFAULT_ELEVENLABS_API_BASE_URL, ENV, POLLER_DEFAULTS, SERVICE } from '../core/contract.js';
import { createEnvReader, type Environment } from '../core/env-reader.js';

/** The poller's settings, read once at start-up. */
export interface PollerConfig {
  /** CONVERSATIONS_TABLE_NAME: asked which conversations are already stored. */
  readonly conversationsTableName: string;
  /** POLLER_STATE_TABLE_NAME: holds the watermark. */
  readonly pollerStateTableName: string;
  /** INGEST_QUEUE_URL: where back-filled events are queued. */
  readonly queueUrl: string;
  /** CONVERSATION_BUCKET_NAME: back-filled events are archived under `events/`. */
  readonly bucketName: string;
  /** ELEVENLABS_API_KEY_SECRET_NAME: Secrets Manager id of the API key. */
  readonly apiKeySecretName: string;
  /** ELEVENLABS_API_BASE_URL. @default https://api.elevenlabs.io */
  readonly apiBaseUrl: string;
  /** POLLER_SETTLE_DELAY_SECS. @default 600 */
  readonly settleDelaySecs: number;
  /** POLLER_OVERLAP_SECS. @default 3600 */
  readonly overlapSecs: number;
  /** POLLER_INITIAL_LOOKBACK_SECS. @default 86400 */
  readonly initialLookbackSecs: number;
  /** POLLER_BACKFILL_RECORDINGS ("true"/"false"): fetch recordings the webhook did not deliver. @default true */
  readonly backfillRecordings: boolean;
  /** POLLER_RECORDING_MISSING_AFTER_SECS: a recording missing this long after the call ended counts in RecordingMissing. @default 21600 */
  readonly recordingMissingAfterSecs: number;
  /**
   * POLLER_MAX_PENDING_AGE_SECS: a missing conversation still not final this long after it started no longer holds
   * the watermark back; 0 = it holds it until it is final. @default 172800 (2 days)
   */
  readonly maxPendingAgeSecs: number;
  /** SECRET_CACHE_TTL_SECS: how long the API key is cached. @default 300 */
  readonly secretCacheTtlSecs: number;
  /** WEBHOOK_URL: the stack's webhook URL, whose ElevenLabs webhook each run checks. @default none: no check */
  readonly webhookUrl?: string;
}

export { POLLER_DEFAULTS };

/** Reads and validates `env`; one ConfigurationError names every missing or invalid variable. */
export function readPollerConfig(env: Environment = process.env): PollerConfig {
  const read = createEnvReader(SERVICE.poller, env);
  return read.done({
    conversationsTableName: read.required(ENV.conversationsTableName),
    pollerStateTableName: read.required(ENV.pollerStateTableName),
    queueUrl: read.required(ENV.ingestQueueUrl),
    bucketName: read.required(ENV.conversationBucketName),
    apiKeySecretName: read.required(ENV.apiKeySecretName),
    apiBaseUrl: read.baseUrl(ENV.apiBaseUrl, DEFAULT_ELEVENLABS_API_BASE_URL),
    settleDelaySecs: read.seconds(ENV.pollerSettleDelaySecs, POLLER_DEFAULTS.settleDelaySecs),
    overlapSecs: read.seconds(ENV.pollerOverlapSecs, POLLER_DEFAULTS.overlapSecs),
    initialLookbackSecs: read.seconds(ENV.pollerInitialLookbackSecs, POLLER_DEFAULTS.initialLookbackSecs),
    backfillRecordings: read.flag(ENV.pollerBackfillRecordings, POLLER_DEFAULTS.backfillRecordings),
    recordingMissingAfterSecs: read.seconds(ENV.pollerRecordingMissingAfterSecs, POLLER_DEFAULTS.recordingMissingAfterSecs),
    maxPendingAgeSecs: read.seconds(ENV.pollerMaxPendingAgeSecs, POLLER_DEFAULTS.maxPendingAgeSecs),
    secretCacheTtlSecs: read.seconds(ENV.secretCacheTtlSecs, POLLER_DEFAULTS.secretCacheTtlSecs),
    webhookUrl: read.url(ENV.webhookUrl),
  });
}
