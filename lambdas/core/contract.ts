/**
 * The contract between the stack (lib/) and the functions (lambdas/): the environment variables each function reads,
 * the metrics each one emits (names, namespace, dimensions), and the defaults and AWS limits both sides rely on.
 * Both sides import these names from here, so renaming one on one side cannot leave the other watching nothing.
 *
 * Pure constants only: the CDK app imports this module too.
 */

/** CloudWatch namespace of every custom metric. */
export const METRICS_NAMESPACE = 'ElevenLabsConversations';

/** Each function's role: its POWERTOOLS_SERVICE_NAME, and so the `service` dimension of its metrics. */
export const SERVICE = { receiver: 'receiver', consumer: 'consumer', poller: 'poller', events: 'events', analytics: 'analytics' } as const;
export type ServiceName = (typeof SERVICE)[keyof typeof SERVICE];

/** Metric dimension names. Powertools adds `service` to every metric; the others are per metric. */
export const METRIC_DIMENSION = { service: 'service', eventType: 'event_type', reason: 'reason', status: 'status' } as const;

/** Receiver metrics. `EventAccepted` has the `event_type` dimension, `RequestRejected` the `reason` dimension. */
export const RECEIVER_METRIC = {
  eventAccepted: 'EventAccepted',
  requestRejected: 'RequestRejected',
  acceptedBytes: 'AcceptedBytes',
  publishFailed: 'PublishFailed',
  /** Empty entries of the webhook secret's JSON array, ignored (counted once per read of the secret). */
  emptySecretEntriesIgnored: 'EmptySecretEntriesIgnored',
} as const;
export type ReceiverMetricName = (typeof RECEIVER_METRIC)[keyof typeof RECEIVER_METRIC];

/** Consumer metrics. */
export const CONSUMER_METRIC = {
  conversationStored: 'ConversationStored',
  conversationMerged: 'ConversationMerged',
  duplicateEvent: 'DuplicateEvent',
  unknownEventStored: 'UnknownEventStored',
  recordFailed: 'RecordFailed',
  transcriptOffloaded: 'TranscriptOffloaded',
} as const;
export type ConsumerMetricName = (typeof CONSUMER_METRIC)[keyof typeof CONSUMER_METRIC];

/** Poller metrics. `ApiError` has the `status` dimension. */
export const POLLER_METRIC = {
  conversationsListed: 'ConversationsListed',
  conversationsMissing: 'ConversationsMissing',
  conversationsBackfilled: 'ConversationsBackfilled',
  apiError: 'ApiError',
  watermarkLagSeconds: 'WatermarkLagSeconds',
  pollerRunFailed: 'PollerRunFailed',
  /** Recordings fetched from the API and queued (the consumer stores them). */
  recordingsBackfilled: 'RecordingsBackfilled',
  /** Listed conversations with `has_audio: true` and no recording stored, longer than the configured time after they ended. */
  recordingMissing: 'RecordingMissing',
  /** 1 per run that found no API key in its secret (empty, or the stack's placeholder): nothing is polled yet. */
  apiKeyNotSet: 'ApiKeyNotSet',
  /**
   * Each run: 1 when the workspace webhook pointing at this stack's WebhookUrl exists, is enabled, uses HMAC and is
   * the post-call webhook in use; else 0.
   */
  webhookHealthy: 'WebhookHealthy',
  /** Each run, when that webhook has ever failed: seconds since its most recent failed delivery. */
  webhookLastFailureAgeSeconds: 'WebhookLastFailureAgeSeconds',
  /** 1 per run whose webhook health check could not be made (the key lacks permission, the API failed). */
  webhookCheckFailed: 'WebhookCheckFailed',
} as const;
export type PollerMetricName = (typeof POLLER_METRIC)[keyof typeof POLLER_METRIC];

/** Change-event enrichment metrics (the events pipe's function). */
export const EVENTS_METRIC = {
  /** Stream records that became a change event (one per stored change of a section). */
  changeEventsBuilt: 'ChangeEventsBuilt',
  /** Stream records that changed no section (an older event's pointer, an offload), so no event. */
  changesWithoutEvent: 'ChangesWithoutEvent',
} as const;
export type EventsMetricName = (typeof EVENTS_METRIC)[keyof typeof EVENTS_METRIC];

/** Analytics enrichment metrics (the dataset pipe's function). */
export const ANALYTICS_METRIC = {
  /** Rows handed to Firehose for the dataset. */
  analyticsRowsBuilt: 'AnalyticsRowsBuilt',
} as const;
export type AnalyticsMetricName = (typeof ANALYTICS_METRIC)[keyof typeof ANALYTICS_METRIC];

/** Every environment variable a function reads (Powertools reads its own `POWERTOOLS_*` variables). */
export const ENV = {
  conversationsTableName: 'CONVERSATIONS_TABLE_NAME',
  pollerStateTableName: 'POLLER_STATE_TABLE_NAME',
  ingestQueueUrl: 'INGEST_QUEUE_URL',
  conversationBucketName: 'CONVERSATION_BUCKET_NAME',
  webhookSecretName: 'WEBHOOK_SECRET_NAME',
  apiKeySecretName: 'ELEVENLABS_API_KEY_SECRET_NAME',
  apiBaseUrl: 'ELEVENLABS_API_BASE_URL',
  signatureMaxFutureSkewSecs: 'SIGNATURE_MAX_FUTURE_SKEW_SECS',
  secretCacheTtlSecs: 'SECRET_CACHE_TTL_SECS',
  allowedSourceIps: 'ALLOWED_SOURCE_IPS',
  pollerSettleDelaySecs: 'POLLER_SETTLE_DELAY_SECS',
  pollerOverlapSecs: 'POLLER_OVERLAP_SECS',
  pollerInitialLookbackSecs: 'POLLER_INITIAL_LOOKBACK_SECS',
  pollerBackfillRecordings: 'POLLER_BACKFILL_RECORDINGS',
  pollerRecordingMissingAfterSecs: 'POLLER_RECORDING_MISSING_AFTER_SECS',
  pollerMaxPendingAgeSecs: 'POLLER_MAX_PENDING_AGE_SECS',
  /** The stack's webhook URL (the WebhookUrl output): the poller checks the ElevenLabs webhook pointing at it. */
  webhookUrl: 'WEBHOOK_URL',
  /** `true`: change events also carry personal data (summary, user id, phone numbers); context `eventsIncludePersonalData`. */
  eventsIncludePersonalData: 'EVENTS_INCLUDE_PERSONAL_DATA',
  /** `true`: dataset rows carry the transcript text; context `analyticsIncludeTranscripts`. */
  analyticsIncludeTranscripts: 'ANALYTICS_INCLUDE_TRANSCRIPTS',
  /** Set only to point the S3 client at an S3-compatible emulator (it then needs path-style addressing). */
  s3EndpointUrl: 'AWS_ENDPOINT_URL_S3',
} as const;
export type EnvName = (typeof ENV)[keyof typeof ENV];

/** Variables the stack sets on every function for Powertools (lib/project-function.ts). */
export const POWERTOOLS_ENV = {
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  logLevel: 'POWERTOOLS_LOG_LEVEL',
} as const;

/** What each function's config reader needs (`required`) and also understands (`optional`). */
export const FUNCTION_ENVIRONMENT = {
  receiver: {
    required: [ENV.webhookSecretName, ENV.ingestQueueUrl, ENV.conversationBucketName],
    optional: [ENV.signatureMaxFutureSkewSecs, ENV.secretCacheTtlSecs, ENV.allowedSourceIps],
  },
  consumer: {
    required: [ENV.conversationsTableName, ENV.conversationBucketName],
    optional: [],
  },
  poller: {
    required: [ENV.conversationsTableName, ENV.pollerStateTableName, ENV.ingestQueueUrl, ENV.conversationBucketName, ENV.apiKeySecretName],
    optional: [
      ENV.apiBaseUrl,
      ENV.pollerSettleDelaySecs,
      ENV.pollerOverlapSecs,
      ENV.pollerInitialLookbackSecs,
      ENV.pollerBackfillRecordings,
      ENV.pollerRecordingMissingAfterSecs,
      ENV.pollerMaxPendingAgeSecs,
      ENV.secretCacheTtlSecs,
      ENV.webhookUrl,
    ],
  },
  events: {
    required: [],
    optional: [ENV.eventsIncludePersonalData],
  },
  analytics: {
    required: [ENV.conversationBucketName],
    optional: [ENV.analyticsIncludeTranscripts],
  },
} as const satisfies Record<ServiceName, { readonly required: readonly EnvName[]; readonly optional: readonly EnvName[] }>;

/**
 * Key prefixes of the conversation bucket; the stack grants each function exactly the prefixes it writes.
 * `recordings` is inside the `events/` archive: the recordings the poller fetched, as ElevenLabs served them.
 */
export const OBJECT_PREFIX = {
  events: 'events/',
  recordings: 'events/recordings/',
  transcripts: 'transcripts/',
  audio: 'audio/',
  /** The query-ready dataset (Parquet, by start day): Firehose in AWS, the local pipeline locally. */
  analytics: 'analytics/',
  /** Rows Firehose could not convert or partition, for inspection. */
  analyticsErrors: 'analytics-errors/',
  /** Athena query results (the workgroup writes them, encrypted; they expire). */
  athenaResults: 'athena-results/',
} as const;
/** The stack's name when `-c stackName=…` does not give another (bin/app.ts), and so what the CLI looks up by default. */
export const DEFAULT_STACK_NAME = 'ElevenLabsConversations';

/**
 * The stack's CloudFormation outputs: the stack sets them (lib/conversations-stack.ts) and the command-line tools'
 * `--stack` reads them (bin/cli/stack-resources.ts), so neither can rename one alone.
 */
export const STACK_OUTPUT = {
  webhookUrl: 'WebhookUrl',
  webhookSecretName: 'WebhookSecretName',
  apiKeySecretName: 'ApiKeySecretName',
  ingestQueueUrl: 'IngestQueueUrl',
  ingestQueueArn: 'IngestQueueArn',
  deadLetterQueueUrl: 'DeadLetterQueueUrl',
  deadLetterQueueArn: 'DeadLetterQueueArn',
  conversationBucketName: 'ConversationBucketName',
  conversationsTableName: 'ConversationsTableName',
  pollerStateTableName: 'PollerStateTableName',
  /** The poller function, whose invocations `doctor` reads. */
  pollerFunctionName: 'PollerFunctionName',
  dashboardUrl: 'DashboardUrl',
  alarmTopicArn: 'AlarmTopicArn',
  kmsKeyArn: 'KmsKeyArn',
  eventBusName: 'EventBusName',
  analyticsDatabaseName: 'AnalyticsDatabaseName',
  analyticsWorkGroupName: 'AnalyticsWorkGroupName',
  analyticsDeliveryStreamName: 'AnalyticsDeliveryStreamName',
} as const;
export type StackOutputName = (typeof STACK_OUTPUT)[keyof typeof STACK_OUTPUT];

/**
 * What Secrets Manager generates for a secret the stack creates (GenerateSecretString with its defaults): 32 printable
 * ASCII characters, punctuation included. See lambdas/core/secret-values.ts for why the stack keeps it that way.
 */
export const GENERATED_SECRET = { length: 32 } as const;

/** ElevenLabs' API host; data-residency workspaces have their own. */
export const DEFAULT_ELEVENLABS_API_BASE_URL = 'https://api.elevenlabs.io';

/** How far in the future a signature timestamp may lie (clock skew); the official SDK has no such limit. */
export const DEFAULT_SIGNATURE_MAX_FUTURE_SKEW_SECS = 300;

/** How long a function caches a secret value before reading it again. */
export const DEFAULT_SECRET_CACHE_TTL_SECS = 300;

/** The poller's defaults (context keys `poller*`, variables `POLLER_*`). */
export const POLLER_DEFAULTS = {
  settleDelaySecs: 600,
  overlapSecs: 3600,
  initialLookbackSecs: 86_400,
  /** Recordings the webhook did not deliver are fetched from the API (context `backfillRecordings`). */
  backfillRecordings: true,
  /** A recording still missing this long after its call ended counts in RecordingMissing (6 h). */
  recordingMissingAfterSecs: 21_600,
  maxPendingAgeSecs: 172_800,
  secretCacheTtlSecs: DEFAULT_SECRET_CACHE_TTL_SECS,
} as const;

/**
 * AWS service limits the design depends on (each links the page it comes from). The rules that use them are stated in
 * lambdas/core/storage-limits.ts; the strict emulator layer of the local pipeline enforces the same numbers.
 */
export const AWS_LIMITS = {
  /**
   * SQS message size, body plus attributes, as the queue is configured (the maximum since 2025).
   * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
   */
  sqsMaxMessageBytes: 1024 * 1024,
  /** Message attributes per message (same page). */
  sqsMaxMessageAttributes: 10,
  /**
   * Characters of an attribute name (alphanumerics, `-`, `_`, `.`).
   * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html
   */
  sqsMaxAttributeNameChars: 256,
  /**
   * DynamoDB partition key value (UTF-8 bytes), table and index keys alike; 1 byte at least (no empty strings).
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-partition-sort-keys
   */
  dynamoDbPartitionKeyMaxBytes: 2048,
  /** DynamoDB sort key value (UTF-8 bytes), same page. */
  dynamoDbSortKeyMaxBytes: 1024,
  /**
   * DynamoDB item size, attribute names included.
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items
   */
  dynamoDbItemMaxBytes: 400 * 1024,
  /**
   * DynamoDB nesting of lists and maps, the top-level attribute being level 1.
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-attributes
   */
  dynamoDbMaxNestingLevels: 32,
  /**
   * DynamoDB numbers: 38 significant digits; zero, or a magnitude from 1E-130 up to (not including) 1E+126.
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html#HowItWorks.DataTypes.Number
   */
  dynamoDbNumberMaxDigits: 38,
  dynamoDbNumberMinExponent: -130,
  dynamoDbNumberMaxExponent: 125,
  /**
   * Lambda's synchronous invocation payload (request). API Gateway cannot hand a larger event to the function.
   * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
   */
  lambdaSyncInvokeMaxBytes: 6 * 1024 * 1024,
  /**
   * HTTP API request payload.
   * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
   */
  httpApiMaxPayloadBytes: 10 * 1024 * 1024,
  /** HTTP API integration timeout (same page). */
  httpApiIntegrationTimeoutMs: 30_000,
} as const;
