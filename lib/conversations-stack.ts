import { CfnOutput, Duration, Stack, type Size, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { STACK_OUTPUT, type StackOutputName } from '../lambdas/core/contract.js';
import { ChangeEvents, type ChangeEventRuleProps } from './change-events.js';
import { changeStreamAlarms, changeStreamWidgets } from './change-stream-monitoring.js';
import { Consumer, DEFAULT_CONSUMER_BATCHING_WINDOW, DEFAULT_CONSUMER_TIMEOUT } from './consumer.js';
import { ConversationAnalytics } from './conversation-analytics.js';
import { ConversationBucket } from './conversation-bucket.js';
import { ConversationQueue } from './conversation-queue.js';
import { ConversationTable, type IndexProjection } from './conversation-table.js';
import { IntegrationSecrets } from './integration-secrets.js';
import { DEFAULT_ALARM_THRESHOLDS, Monitoring, type AlarmThresholds } from './monitoring.js';
import { DEFAULT_POLL_SCHEDULE, Poller } from './poller.js';
import type { PowertoolsLogLevel, ProjectFunctionSharedProps } from './project-function.js';
import { ProjectKey } from './project-key.js';
import { scheduleInterval } from './schedule-expression.js';
import { WebhookIngress } from './webhook-ingress.js';

/** Everything the stack can be told; bin/app.ts reads it from CDK context (lib/stack-config.ts). */
export interface ConversationsStackProps extends StackProps {
  /**
   * Complete ARN of an existing webhook secret.
   * @default - the stack creates one (random placeholder value)
   */
  readonly webhookSecretArn?: string;
  /**
   * ARN of the customer-managed KMS key encrypting the imported webhook secret (kms:Decrypt through Secrets Manager).
   * @default - the secret uses the AWS-managed key `aws/secretsmanager`
   */
  readonly webhookSecretKmsKeyArn?: string;
  /**
   * Complete ARN of an existing ElevenLabs API key secret.
   * @default - the stack creates one (random placeholder value, recognised as "not set yet")
   */
  readonly apiKeySecretArn?: string;
  /**
   * ARN of the customer-managed KMS key encrypting the imported API key secret (kms:Decrypt through Secrets Manager).
   * @default - the secret uses the AWS-managed key `aws/secretsmanager`
   */
  readonly apiKeySecretKmsKeyArn?: string;
  /**
   * ElevenLabs API host for the poller.
   * @default https://api.elevenlabs.io
   */
  readonly apiBaseUrl?: string;
  /**
   * Email address subscribed to the alarm topic.
   * @default - none
   */
  readonly alarmEmail?: string;
  /**
   * One customer-managed KMS key for queue, bucket, tables, secrets, log groups and alarm topic.
   * @default false (AWS-managed/owned keys; a dedicated key for the alarm topic only)
   */
  readonly customerManagedKey?: boolean;
  /**
   * Poller schedule, `rate(...)` or `cron(...)`.
   * @default rate(10 minutes)
   */
  readonly pollSchedule?: string;
  /**
   * Run the poller on its schedule.
   * @default true
   */
  readonly pollerEnabled?: boolean;
  /**
   * Source IP addresses the receiver accepts.
   * @default - any
   */
  readonly allowedSourceIps?: readonly string[];
  /**
   * Deletion protection on the conversations table.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * Projection of the conversations table's `by_agent` index (README: upgrading a stack deployed with `all`).
   * @default 'include'
   */
  readonly byAgentIndexProjection?: IndexProjection;
  /**
   * Projection of the conversations table's `by_day` index.
   * @default 'include'
   */
  readonly byDayIndexProjection?: IndexProjection;
  /**
   * Retention of every log group.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * POWERTOOLS_LOG_LEVEL of every function.
   * @default 'INFO'
   */
  readonly logLevel?: PowertoolsLogLevel;
  /**
   * Active X-Ray tracing on every function.
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * Webhook stage rate limit (requests/s).
   * @default 50
   */
  readonly apiThrottleRateLimit?: number;
  /**
   * Webhook stage burst limit.
   * @default 100
   */
  readonly apiThrottleBurstLimit?: number;
  /**
   * Reserved concurrency of the receiver.
   * @default - unreserved
   */
  readonly receiverReservedConcurrency?: number;
  /**
   * Maximum concurrency of the consumer's event source.
   * @default 5
   */
  readonly consumerMaxConcurrency?: number;
  /**
   * Age at which the `events/` archive moves to Glacier Instant Retrieval.
   * @default Duration.days(30)
   */
  readonly archiveTransitionAfter?: Duration;
  /**
   * Age at which the `events/` archive is deleted.
   * @default - never
   */
  readonly archiveExpiration?: Duration;
  /**
   * SIGNATURE_MAX_FUTURE_SKEW_SECS.
   * @default 300
   */
  readonly signatureMaxFutureSkewSecs?: number;
  /**
   * POLLER_SETTLE_DELAY_SECS.
   * @default 600
   */
  readonly pollerSettleDelaySecs?: number;
  /**
   * POLLER_OVERLAP_SECS.
   * @default 3600
   */
  readonly pollerOverlapSecs?: number;
  /**
   * POLLER_INITIAL_LOOKBACK_SECS.
   * @default 86400
   */
  readonly pollerInitialLookbackSecs?: number;
  /**
   * POLLER_BACKFILL_RECORDINGS: the poller fetches every recording the webhook did not deliver.
   * @default true
   */
  readonly backfillRecordings?: boolean;
  /**
   * POLLER_RECORDING_MISSING_AFTER_SECS: when a missing recording starts counting in RecordingMissing.
   * @default 21600
   */
  readonly recordingMissingAfterSecs?: number;
  /**
   * POLLER_MAX_PENDING_AGE_SECS (0 = hold the watermark until final).
   * @default 172800
   */
  readonly pollerMaxPendingAgeSecs?: number;
  /**
   * Alarm threshold overrides. `pollerSilence` defaults to three schedule intervals (at least 30 minutes) for a
   * rate schedule and one day for a cron schedule.
   * @default DEFAULT_ALARM_THRESHOLDS
   */
  readonly alarmThresholds?: Partial<AlarmThresholds>;
  /**
   * The EventBridge bus the change events go to (context `eventBusName`).
   * @default 'default' (the account's default bus)
   */
  readonly eventBusName?: string;
  /**
   * Change events also carry the summary, the user id and the phone numbers (context `eventsIncludePersonalData`).
   * @default false
   */
  readonly eventsIncludePersonalData?: boolean;
  /**
   * Rules on the change events, each with its targets: how a deployment attaches its own systems (e.g. failed calls
   * of one agent → an SNS topic). More can be added later with `stack.changeEvents.addRule`.
   * @default - none
   */
  readonly changeEventRules?: readonly ChangeEventRuleProps[];
  /**
   * Dataset rows carry the transcript text (context `analyticsIncludeTranscripts`).
   * @default false
   */
  readonly analyticsIncludeTranscripts?: boolean;
  /**
   * The most one Athena query in the stack's workgroup may scan (context `athenaBytesScannedCutoffMb`).
   * @default Size.gibibytes(10)
   */
  readonly athenaBytesScannedCutoffPerQuery?: Size;
}

/**
 * ElevenLabs post-call webhooks → HTTP API → receiver (HMAC) → S3 archive + SQS → consumer → DynamoDB, with a
 * scheduled poller that back-fills what the webhook missed, and alarms. This class only wires the constructs.
 */
export class ConversationsStack extends Stack {
  public readonly key?: ProjectKey;
  public readonly secrets: IntegrationSecrets;
  public readonly queue: ConversationQueue;
  public readonly bucket: ConversationBucket;
  public readonly table: ConversationTable;
  public readonly ingress: WebhookIngress;
  public readonly consumer: Consumer;
  public readonly poller: Poller;
  public readonly changeEvents: ChangeEvents;
  public readonly analytics: ConversationAnalytics;
  public readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: ConversationsStackProps = {}) {
    super(scope, id, {
      description: 'Captures ElevenLabs Agents conversations: verified post-call webhooks, SQS, DynamoDB, a back-fill poller, change events on EventBridge and an Athena dataset',
      ...props,
    });
    this.key = props.customerManagedKey === true ? new ProjectKey(this, 'Key') : undefined;
    const encryptionKey = this.key?.key;
    const functionDefaults: ProjectFunctionSharedProps = { logRetention: props.logRetention, logLevel: props.logLevel, tracing: props.tracing, encryptionKey };

    this.secrets = new IntegrationSecrets(this, 'Secrets', {
      webhookSecretArn: props.webhookSecretArn,
      webhookSecretKmsKeyArn: props.webhookSecretKmsKeyArn,
      apiKeySecretArn: props.apiKeySecretArn,
      apiKeySecretKmsKeyArn: props.apiKeySecretKmsKeyArn,
      encryptionKey,
    });
    this.queue = new ConversationQueue(this, 'IngestQueue', {
      consumerTimeout: DEFAULT_CONSUMER_TIMEOUT,
      consumerBatchingWindow: DEFAULT_CONSUMER_BATCHING_WINDOW,
      encryptionKey,
    });
    this.bucket = new ConversationBucket(this, 'ConversationBucket', {
      archiveTransitionAfter: props.archiveTransitionAfter,
      archiveExpiration: props.archiveExpiration,
      encryptionKey,
    });
    this.table = new ConversationTable(this, 'Conversations', {
      deletionProtection: props.deletionProtection,
      byAgentIndexProjection: props.byAgentIndexProjection,
      byDayIndexProjection: props.byDayIndexProjection,
      encryptionKey,
    });

    this.ingress = new WebhookIngress(this, 'WebhookIngress', {
      secrets: this.secrets,
      queue: this.queue,
      bucket: this.bucket,
      functionDefaults,
      throttleRateLimit: props.apiThrottleRateLimit,
      throttleBurstLimit: props.apiThrottleBurstLimit,
      signatureMaxFutureSkewSecs: props.signatureMaxFutureSkewSecs,
      allowedSourceIps: props.allowedSourceIps,
      reservedConcurrency: props.receiverReservedConcurrency,
    });
    this.consumer = new Consumer(this, 'Consumer', {
      queue: this.queue,
      table: this.table,
      bucket: this.bucket,
      functionDefaults,
      timeout: DEFAULT_CONSUMER_TIMEOUT,
      maxBatchingWindow: DEFAULT_CONSUMER_BATCHING_WINDOW,
      maxConcurrency: props.consumerMaxConcurrency,
    });
    const pollInterval = scheduleInterval(props.pollSchedule ?? DEFAULT_POLL_SCHEDULE);
    this.poller = this.createPoller(props, functionDefaults, pollInterval);
    this.changeEvents = new ChangeEvents(this, 'ChangeEvents', {
      table: this.table,
      eventBusName: props.eventBusName,
      includePersonalData: props.eventsIncludePersonalData,
      rules: props.changeEventRules,
      functionDefaults,
      encryptionKey,
    });
    this.analytics = new ConversationAnalytics(this, 'Analytics', {
      table: this.table,
      bucket: this.bucket,
      includeTranscripts: props.analyticsIncludeTranscripts,
      bytesScannedCutoffPerQuery: props.athenaBytesScannedCutoffPerQuery,
      functionDefaults,
      encryptionKey,
    });
    const thresholds = { pollerSilence: defaultPollerSilence(pollInterval), ...props.alarmThresholds };
    this.monitoring = new Monitoring(this, 'Monitoring', {
      ingress: this.ingress,
      queue: this.queue,
      consumer: this.consumer,
      poller: this.poller,
      alarmEmail: props.alarmEmail,
      encryptionKey,
      thresholds,
      additionalAlarms: changeStreamAlarms(this.changeEvents, this.analytics, thresholds.deadLetterMessages ?? DEFAULT_ALARM_THRESHOLDS.deadLetterMessages),
      additionalWidgets: changeStreamWidgets(this.changeEvents, this.analytics),
    });
    this.outputs();
  }

  private createPoller(props: ConversationsStackProps, functionDefaults: ProjectFunctionSharedProps, interval: Duration | undefined): Poller {
    return new Poller(this, 'Poller', {
      table: this.table,
      queue: this.queue,
      bucket: this.bucket,
      secrets: this.secrets,
      functionDefaults,
      schedule: props.pollSchedule ?? DEFAULT_POLL_SCHEDULE,
      enabled: props.pollerEnabled,
      apiBaseUrl: props.apiBaseUrl,
      webhookUrl: this.ingress.webhookUrl,
      settleDelaySecs: props.pollerSettleDelaySecs,
      overlapSecs: props.pollerOverlapSecs,
      initialLookbackSecs: props.pollerInitialLookbackSecs,
      backfillRecordings: props.backfillRecordings,
      recordingMissingAfterSecs: props.recordingMissingAfterSecs,
      maxPendingAgeSecs: props.pollerMaxPendingAgeSecs,
      maxEventAge: interval === undefined ? Duration.hours(1) : clampSeconds(interval, 60, 6 * 3600),
    });
  }

  private outputs(): void {
    const output = (id: StackOutputName, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output(STACK_OUTPUT.webhookUrl, this.ingress.webhookUrl, 'Paste into ElevenLabs as the post-call webhook URL');
    output(STACK_OUTPUT.webhookSecretName, this.secrets.webhookSecret.secretName, 'Secrets Manager secret to put the webhook HMAC secret in');
    output(STACK_OUTPUT.apiKeySecretName, this.secrets.apiKeySecret.secretName, 'Secrets Manager secret to put the ElevenLabs API key in');
    output(STACK_OUTPUT.ingestQueueUrl, this.queue.queue.queueUrl, 'Ingest queue (receiver/poller → consumer)');
    output(STACK_OUTPUT.ingestQueueArn, this.queue.queue.queueArn, 'Ingest queue ARN: where a redrive moves dead letters back to');
    output(STACK_OUTPUT.deadLetterQueueUrl, this.queue.deadLetterQueue.queueUrl, 'Events that failed 5 times; redrive after fixing the cause');
    output(STACK_OUTPUT.deadLetterQueueArn, this.queue.deadLetterQueue.queueArn, 'Dead-letter queue ARN: the source of a redrive');
    output(STACK_OUTPUT.conversationBucketName, this.bucket.bucket.bucketName, 'events/ archive, transcripts/ and audio/');
    output(STACK_OUTPUT.conversationsTableName, this.table.table.tableName, 'One item per conversation (indexes by_agent, by_day)');
    output(STACK_OUTPUT.pollerStateTableName, this.poller.stateTable.table.tableName, 'The poller watermark and run lease');
    output(STACK_OUTPUT.pollerFunctionName, this.poller.poller.function.functionName, 'The back-fill poller (doctor reads its invocations)');
    output(STACK_OUTPUT.dashboardUrl, this.monitoring.dashboardUrl, 'CloudWatch dashboard');
    output(STACK_OUTPUT.alarmTopicArn, this.monitoring.topic.topicArn, 'Subscribe here for alarm notifications');
    output(STACK_OUTPUT.eventBusName, this.changeEvents.bus.eventBusName, 'EventBridge bus the change events go to (source elevenlabs.conversations)');
    output(STACK_OUTPUT.analyticsDatabaseName, this.analytics.catalog.databaseName, 'Glue database of the dataset (table conversations, view conversations_latest)');
    output(STACK_OUTPUT.analyticsWorkGroupName, this.analytics.workGroup.ref, 'Athena workgroup for queries over the dataset (sql --stack)');
    output(STACK_OUTPUT.analyticsDeliveryStreamName, this.analytics.delivery.deliveryStream.ref, 'Firehose stream writing the dataset under analytics/');
    if (this.key !== undefined) output(STACK_OUTPUT.kmsKeyArn, this.key.key.keyArn, 'Customer-managed key encrypting the store');
  }
}

/** Three schedule intervals, at least the default 30 minutes, at most a day; a day for cron schedules. */
export function defaultPollerSilence(interval: Duration | undefined): Duration {
  if (interval === undefined) return Duration.days(1);
  const minimum = DEFAULT_ALARM_THRESHOLDS.pollerSilence.toSeconds();
  return clampSeconds(Duration.seconds(3 * interval.toSeconds()), minimum, 86_400);
}

function clampSeconds(duration: Duration, min: number, max: number): Duration {
  return Duration.seconds(Math.min(max, Math.max(min, duration.toSeconds())));
}
