import { Aws, Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { DEFAULT_ELEVENLABS_API_BASE_URL, ENV, POLLER_DEFAULTS, SERVICE } from '../lambdas/core/contract.js';
import type { ConversationBucket } from './conversation-bucket.js';
import type { ConversationQueue } from './conversation-queue.js';
import { PollerStateTable, type ConversationTable } from './conversation-table.js';
import type { IntegrationSecrets } from './integration-secrets.js';
import { logicalIdOf, ProjectFunction, projectPath, type ProjectFunctionSharedProps } from './project-function.js';

export const DEFAULT_POLL_SCHEDULE = 'rate(10 minutes)';
export { DEFAULT_ELEVENLABS_API_BASE_URL };

export interface PollerProps {
  readonly table: ConversationTable;
  readonly queue: ConversationQueue;
  readonly bucket: ConversationBucket;
  readonly secrets: IntegrationSecrets;
  /** Log, key and tracing settings every function shares; the key also encrypts the state table. */
  readonly functionDefaults?: ProjectFunctionSharedProps;
  /**
   * EventBridge Scheduler expression, `rate(...)` or `cron(...)` (UTC).
   * @default DEFAULT_POLL_SCHEDULE, rate(10 minutes)
   */
  readonly schedule?: string;
  /**
   * Whether the schedule runs. Off, the function and state stay (for `npm run backfill`) but nothing polls.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * ELEVENLABS_API_BASE_URL (data-residency hosts, or a fake in tests).
   * @default DEFAULT_ELEVENLABS_API_BASE_URL
   */
  readonly apiBaseUrl?: string;
  /**
   * WEBHOOK_URL: the stack's webhook URL; every run checks the ElevenLabs webhook pointing at it (WebhookHealthy).
   * A token of the HTTP API stage, which does not depend on the poller, so passing it makes no cycle.
   * @default - no webhook health check
   */
  readonly webhookUrl?: string;
  /**
   * POLLER_SETTLE_DELAY_SECS: conversations younger than this are left to the webhook.
   * @default 600
   */
  readonly settleDelaySecs?: number;
  /**
   * POLLER_OVERLAP_SECS: how far each run re-reads before its watermark.
   * @default 3600
   */
  readonly overlapSecs?: number;
  /**
   * POLLER_INITIAL_LOOKBACK_SECS: how far the first run (no watermark yet) looks back.
   * @default 86400
   */
  readonly initialLookbackSecs?: number;
  /**
   * POLLER_BACKFILL_RECORDINGS: fetch the recording of every conversation whose record should have one and does not
   * (its audio webhook was too large for Lambda, or lost), streamed into the archive.
   * @default true
   */
  readonly backfillRecordings?: boolean;
  /**
   * POLLER_RECORDING_MISSING_AFTER_SECS: a recording still missing this long after its call ended is counted in the
   * RecordingMissing metric (alarmed).
   * @default 21600 (6 hours)
   */
  readonly recordingMissingAfterSecs?: number;
  /**
   * POLLER_MAX_PENDING_AGE_SECS: a conversation still not final this long after it started stops holding the
   * watermark back (logged as given up); 0 = it holds it until it is final.
   * @default 172800 (2 days)
   */
  readonly maxPendingAgeSecs?: number;
  /**
   * SECRET_CACHE_TTL_SECS for the API key.
   * @default 300
   */
  readonly secretCacheTtlSecs?: number;
  /**
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;
  /**
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Oldest a queued scheduled invocation may get before Lambda drops it (about one schedule interval: a later run
   * covers the same window).
   * @default Duration.minutes(10)
   */
  readonly maxEventAge?: Duration;
  /**
   * Entry file of the poller.
   * @default lambdas/poller/handler.ts
   */
  readonly entry?: string;
}

/**
 * The back-fill poller: on a schedule it lists recent conversations from the ElevenLabs API, asks the table which
 * are missing, and publishes those through the same archive → queue path as the receiver. A lease in the state table
 * makes it a singleton (an overlapping run skips), so the watermark has one writer; no reserved concurrency, which a
 * new account's concurrency quota (often 10) cannot spare, so the stack deploys anywhere.
 */
export class Poller extends Construct {
  public readonly poller: ProjectFunction;
  public readonly stateTable: PollerStateTable;
  public readonly schedule: scheduler.Schedule;
  public readonly enabled: boolean;

  constructor(scope: Construct, id: string, props: PollerProps) {
    super(scope, id);
    const defaults = props.functionDefaults ?? {};
    this.enabled = props.enabled ?? true;
    this.stateTable = new PollerStateTable(this, 'State', { encryptionKey: defaults.encryptionKey });
    this.poller = new ProjectFunction(this, 'Poller', {
      ...defaults,
      entry: props.entry ?? projectPath('lambdas/poller/handler.ts'),
      serviceName: SERVICE.poller,
      description: 'Back-fills conversations the webhook missed from the ElevenLabs API',
      timeout: props.timeout ?? Duration.minutes(5),
      memorySize: props.memorySize ?? 512,
      environment: {
        [ENV.apiBaseUrl]: props.apiBaseUrl ?? DEFAULT_ELEVENLABS_API_BASE_URL,
        [ENV.pollerSettleDelaySecs]: String(props.settleDelaySecs ?? POLLER_DEFAULTS.settleDelaySecs),
        [ENV.pollerOverlapSecs]: String(props.overlapSecs ?? POLLER_DEFAULTS.overlapSecs),
        [ENV.pollerInitialLookbackSecs]: String(props.initialLookbackSecs ?? POLLER_DEFAULTS.initialLookbackSecs),
        [ENV.pollerBackfillRecordings]: String(props.backfillRecordings ?? POLLER_DEFAULTS.backfillRecordings),
        [ENV.pollerRecordingMissingAfterSecs]: String(props.recordingMissingAfterSecs ?? POLLER_DEFAULTS.recordingMissingAfterSecs),
        [ENV.pollerMaxPendingAgeSecs]: String(props.maxPendingAgeSecs ?? POLLER_DEFAULTS.maxPendingAgeSecs),
        [ENV.secretCacheTtlSecs]: String(props.secretCacheTtlSecs ?? POLLER_DEFAULTS.secretCacheTtlSecs),
        ...(props.webhookUrl === undefined ? {} : { [ENV.webhookUrl]: props.webhookUrl }),
      },
    });
    props.table.bindExistenceReader(this.poller);
    this.stateTable.bindStateReadWriter(this.poller);
    props.queue.bindSender(this.poller);
    props.bucket.bindEventArchiveWriter(this.poller);
    props.bucket.bindRecordingArchiver(this.poller);
    props.secrets.bindApiKeyReader(this.poller);

    const maxEventAge = props.maxEventAge ?? Duration.minutes(10);
    // A failed run is not retried by Lambda: the next scheduled run re-reads the same window (overlap).
    this.poller.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge });

    const scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: 'Lets EventBridge Scheduler invoke the back-fill poller',
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Runs the ElevenLabs back-fill poller',
      schedule: scheduler.ScheduleExpression.expression(props.schedule ?? DEFAULT_POLL_SCHEDULE),
      target: new LambdaInvoke(this.poller.function, { role: scheduleRole, retryAttempts: 2, maxEventAge }),
      enabled: this.enabled,
      // No key: the schedule carries no payload, so the AWS-owned key is enough.
    });
    Validations.of(scheduleRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(this.poller.function.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason: 'The Scheduler target grant covers versions/aliases of the poller function only (function ARN + ":*"), nothing else.',
    });
  }
}
