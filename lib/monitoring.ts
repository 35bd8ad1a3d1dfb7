import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { Consumer } from './consumer.js';
import { acknowledgeControlTowerRule, CONTROL_TOWER_RULE } from './control-tower.js';
import type { ConversationQueue } from './conversation-queue.js';
import type { Poller } from './poller.js';
import { CONSUMER_METRIC, METRIC_DIMENSION, METRICS_NAMESPACE, POLLER_METRIC, RECEIVER_METRIC } from '../lambdas/core/contract.js';
import type { SignatureFailureReason } from '../lambdas/core/ingest/signature.js';
import type { ProjectFunction } from './project-function.js';
import { allowCloudWatchAlarms, denyGrantsExceptForAwsResources } from './project-key.js';
import type { WebhookIngress } from './webhook-ingress.js';

/** When each alarm fires. Counts are "more than N in the window" unless said otherwise. */
export interface AlarmThresholds {
  /** Messages in the dead-letter queue (any is a lost-for-now event). */
  readonly deadLetterMessages: number;
  /** Age of the oldest message on the ingest queue: the consumer is stuck or far behind. */
  readonly ingestQueueOldestMessageAge: Duration;
  /** HTTP API 5xx answers per 5 minutes (ElevenLabs retries, then may switch the webhook off). */
  readonly apiServerErrorsPer5Minutes: number;
  /**
   * HTTP API 4xx answers (429 throttles included) per 5 minutes: an unsigned flood using up the stage throttle, which
   * turns ElevenLabs' own deliveries into 429s.
   */
  readonly apiClientErrorsPer5Minutes: number;
  /** Receiver PublishFailed (archive or queue write failed) per 5 minutes. */
  readonly publishFailuresPer5Minutes: number;
  /** Requests rejected for `invalid_signature` per 5 minutes: usually a wrong or rotated secret. */
  readonly invalidSignaturesPer5Minutes: number;
  /** Consumer Lambda errors (whole-batch failures) per 5 minutes. */
  readonly consumerErrorsPer5Minutes: number;
  /** Consumer RecordFailed (single records sent back for retry) per 5 minutes. */
  readonly consumerRecordFailuresPer5Minutes: number;
  /** Failed poller runs per hour (Lambda errors: every failed run is one, crashes and timeouts included). */
  readonly pollerFailuresPerHour: number;
  /** Window without a single poller invocation before "poller not running" fires. */
  readonly pollerSilence: Duration;
  /** Conversations the poller had to back-fill per hour: above this the webhook is probably failing or off. */
  readonly backfilledConversationsPerHour: number;
  /**
   * RecordingMissing per hour: conversations whose recording is still not stored (nor known absent) longer than
   * `recordingMissingAfterSecs` after the call ended. Each poller run counts each such conversation once.
   */
  readonly recordingsMissingPerHour: number;
  /** Poller runs per hour whose ElevenLabs webhook health check could not be made (WebhookCheckFailed). */
  readonly webhookCheckFailuresPerHour: number;
  /** Throttles per function per 5 minutes. */
  readonly throttlesPer5Minutes: number;
}

export const DEFAULT_ALARM_THRESHOLDS: AlarmThresholds = {
  deadLetterMessages: 0,
  ingestQueueOldestMessageAge: Duration.minutes(15),
  apiServerErrorsPer5Minutes: 0,
  apiClientErrorsPer5Minutes: 100,
  publishFailuresPer5Minutes: 0,
  invalidSignaturesPer5Minutes: 10,
  consumerErrorsPer5Minutes: 0,
  consumerRecordFailuresPer5Minutes: 0,
  pollerFailuresPerHour: 0,
  pollerSilence: Duration.minutes(30),
  backfilledConversationsPerHour: 5,
  recordingsMissingPerHour: 0,
  webhookCheckFailuresPerHour: 0,
  throttlesPer5Minutes: 0,
};

export interface MonitoringProps {
  readonly ingress: WebhookIngress;
  readonly queue: ConversationQueue;
  readonly consumer: Consumer;
  readonly poller: Poller;
  /**
   * Overrides of single thresholds.
   * @default DEFAULT_ALARM_THRESHOLDS
   */
  readonly thresholds?: Partial<AlarmThresholds>;
  /**
   * Email address subscribed to the alarm topic (the recipient must confirm).
   * @default - no subscription; subscribe to the AlarmTopicArn output yourself
   */
  readonly alarmEmail?: string;
  /**
   * Key for the alarm topic; its policy gets a statement letting CloudWatch alarms use it.
   * @default - a dedicated key for the topic (CloudWatch cannot publish to a topic under the AWS-managed SNS key)
   */
  readonly encryptionKey?: kms.Key;
  /**
   * Alarms of other parts of the stack (the change stream's), created and notified like these.
   * @default - none
   */
  readonly additionalAlarms?: readonly AlarmSpec[];
  /**
   * A dashboard row for those parts.
   * @default - none
   */
  readonly additionalWidgets?: readonly cloudwatch.IWidget[];
}

const FIVE_MINUTES = Duration.minutes(5);

/** A project custom metric (Powertools adds the `service` dimension from POWERTOOLS_SERVICE_NAME). */
export function customMetric(service: string, metricName: string, period: Duration, extraDimensions: Record<string, string> = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { [METRIC_DIMENSION.service]: service, ...extraDimensions },
    statistic: cloudwatch.Stats.SUM,
    period,
  });
}

/** One alarm: a metric, when it breaches, and what it means (the alarm's description, for the person paged). */
export interface AlarmSpec {
  readonly id: string;
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly description: string;
  /** @default GREATER_THAN_THRESHOLD */
  readonly comparison?: cloudwatch.ComparisonOperator;
  /** @default NOT_BREACHING */
  readonly missing?: cloudwatch.TreatMissingData;
  /** Periods looked at; one breaching is enough. @default 1 */
  readonly evaluationPeriods?: number;
}

/** The functions and queues the alarms watch. */
interface Watched {
  readonly props: MonitoringProps;
  readonly thresholds: AlarmThresholds;
  readonly receiver: ProjectFunction;
  readonly consumer: ProjectFunction;
  readonly poller: ProjectFunction;
}

/**
 * Alarms on everything that loses or delays conversations, an SNS topic they notify (encrypted, TLS-only) and a
 * dashboard. Every alarm also notifies when it returns to OK.
 */
export class Monitoring extends Construct {
  public readonly topic: sns.Topic;
  public readonly dashboard: cloudwatch.Dashboard;
  public readonly alarms: Readonly<Record<string, cloudwatch.AlarmBase>>;
  public readonly thresholds: AlarmThresholds;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.thresholds = { ...DEFAULT_ALARM_THRESHOLDS, ...props.thresholds };
    const watched: Watched = { props, thresholds: this.thresholds, receiver: props.ingress.receiver, consumer: props.consumer.consumer, poller: props.poller.poller };
    this.topic = this.alarmTopic(props);
    const specs = [...ingestionAlarms(watched), ...processingAlarms(watched), ...pollerAlarms(watched), ...webhookAlarms(watched), ...recordingAlarms(watched), ...throttleAlarms(watched), ...(props.additionalAlarms ?? [])];
    this.alarms = {
      ...Object.fromEntries(specs.map((spec) => [spec.id, this.alarm(spec)])),
      ...(props.poller.enabled ? { PollerNotRunning: this.pollerNotRunning(watched) } : {}),
    };
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 24, height: 4 }));
    this.dashboard.addWidgets(...ingestionWidgets(watched));
    this.dashboard.addWidgets(...processingWidgets(watched));
    this.dashboard.addWidgets(...recordingWidgets(watched));
    if (props.additionalWidgets !== undefined && props.additionalWidgets.length > 0) this.dashboard.addWidgets(...props.additionalWidgets);
  }

  /** Console link to the dashboard. */
  get dashboardUrl(): string {
    return `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.dashboard.dashboardName}`;
  }

  private alarmTopic(props: MonitoringProps): sns.Topic {
    let key = props.encryptionKey;
    if (key === undefined) {
      key = new kms.Key(this, 'AlarmTopicKey', {
        description: 'Encrypts the ElevenLabs conversation store alarm topic',
        enableKeyRotation: true,
        // Only transient alarm notifications are encrypted with it.
        removalPolicy: RemovalPolicy.DESTROY,
      });
      allowCloudWatchAlarms(key);
      denyGrantsExceptForAwsResources(key);
    }
    const topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'ElevenLabs conversation store alarms', masterKey: key, enforceSSL: true });
    // With a topic policy in place, the default policy is gone: CloudWatch alarms of this account need an explicit allow.
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisAccountsCloudWatchAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
        },
      }),
    );
    if (props.alarmEmail !== undefined) topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    return topic;
  }

  private alarm(spec: AlarmSpec, notify = true): cloudwatch.Alarm {
    const created = new cloudwatch.Alarm(this, spec.id, {
      metric: spec.metric,
      threshold: spec.threshold,
      evaluationPeriods: spec.evaluationPeriods ?? 1,
      datapointsToAlarm: 1,
      comparisonOperator: spec.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: spec.missing ?? cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: spec.description,
    });
    if (notify) this.notify(created);
    return created;
  }

  private notify(alarm: cloudwatch.AlarmBase): void {
    const action = new cloudwatchActions.SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }

  /**
   * "Poller not running": no invocation for pollerSilence although it ran during the last week. Alone, the silence
   * alarm would fire on every fresh deploy (no invocation yet counts as silence); the second condition keeps it quiet
   * until the first scheduled run. Only this composite notifies. A poller silent for more than a week returns to OK
   * (after a week of ALARM); the PollerSilent alarm itself stays in ALARM on the dashboard.
   */
  private pollerNotRunning({ thresholds: t, poller }: Watched): cloudwatch.CompositeAlarm {
    const silent = this.alarm(
      {
        id: 'PollerSilent',
        metric: poller.function.metricInvocations({ period: t.pollerSilence, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        description: 'No poller invocation for a whole window (part of PollerNotRunning, which notifies).',
        comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        missing: cloudwatch.TreatMissingData.BREACHING,
      },
      false,
    );
    const ranThisWeek = this.alarm(
      {
        id: 'PollerRanThisWeek',
        metric: poller.function.metricInvocations({ period: Duration.days(1), statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        evaluationPeriods: 7,
        description: 'The poller was invoked at least once in the last 7 days (part of PollerNotRunning, which notifies).',
        comparison: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      },
      false,
    );
    for (const part of [silent, ranThisWeek]) {
      acknowledgeControlTowerRule(part, CONTROL_TOWER_RULE.alarmAction, 'A part of the PollerNotRunning composite alarm, which notifies; alone, the silence alarm would page on every fresh deploy.');
    }
    const composite = new cloudwatch.CompositeAlarm(this, 'PollerNotRunning', {
      alarmRule: cloudwatch.AlarmRule.allOf(cloudwatch.AlarmRule.fromAlarm(silent, cloudwatch.AlarmState.ALARM), cloudwatch.AlarmRule.fromAlarm(ranThisWeek, cloudwatch.AlarmState.ALARM)),
      alarmDescription: 'The back-fill poller ran before but has not been invoked for a whole window: check the EventBridge Scheduler schedule (and that it is enabled).',
    });
    this.notify(composite);
    return composite;
  }
}

/** Events that never reach the table: dead letters, a stuck queue, and a receiver that cannot store. */
function ingestionAlarms({ props, thresholds: t, receiver }: Watched): AlarmSpec[] {
  return [
    {
      id: 'DeadLetterQueueNotEmpty',
      metric: props.queue.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: t.deadLetterMessages,
      description: 'Events failed 5 times and sit in the dead-letter queue. Fix the cause (consumer logs), then redrive them to the ingest queue.',
    },
    {
      id: 'IngestQueueBacklog',
      metric: props.queue.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: t.ingestQueueOldestMessageAge.toSeconds(),
      description: 'The oldest message on the ingest queue is old: the consumer is failing, throttled or far behind.',
    },
    {
      id: 'WebhookServerErrors',
      metric: props.ingress.api.metricServerError({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
      threshold: t.apiServerErrorsPer5Minutes,
      description: 'The webhook answered 5xx. ElevenLabs retries, and may switch a failing webhook off; the poller back-fills meanwhile.',
    },
    {
      id: 'WebhookClientErrors',
      metric: props.ingress.api.metricClientError({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
      threshold: t.apiClientErrorsPer5Minutes,
      description:
        'A burst of 4xx answers (429 throttles included): usually unsigned traffic. It shares the stage throttle with ElevenLabs, whose deliveries then get 429 and are not retried; the poller back-fills them. See README "Security defaults".',
    },
    {
      id: 'WebhookPublishFailed',
      metric: customMetric(receiver.serviceName, RECEIVER_METRIC.publishFailed, FIVE_MINUTES),
      threshold: t.publishFailuresPer5Minutes,
      description: 'The receiver could not archive or queue a verified event (S3/SQS failure); it answered 500.',
    },
    {
      id: 'WebhookInvalidSignatures',
      metric: customMetric(receiver.serviceName, RECEIVER_METRIC.requestRejected, FIVE_MINUTES, { [METRIC_DIMENSION.reason]: 'invalid_signature' satisfies SignatureFailureReason }),
      threshold: t.invalidSignaturesPer5Minutes,
      description:
        'Many requests failed HMAC verification: the stored webhook secret is probably wrong or was rotated in ElevenLabs only. ElevenLabs switches failing webhooks off.',
    },
  ];
}

/** The consumer failing batches or single records. */
function processingAlarms({ thresholds: t, consumer }: Watched): AlarmSpec[] {
  return [
    {
      id: 'ConsumerErrors',
      metric: consumer.function.metricErrors({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
      threshold: t.consumerErrorsPer5Minutes,
      description: 'The consumer failed whole batches (crash, timeout or configuration error).',
    },
    {
      id: 'ConsumerRecordFailures',
      metric: customMetric(consumer.serviceName, CONSUMER_METRIC.recordFailed, FIVE_MINUTES),
      threshold: t.consumerRecordFailuresPer5Minutes,
      description: 'The consumer returned records for retry; after 5 receives they go to the dead-letter queue.',
    },
  ];
}

/**
 * The healing path: the poller failing, its API key not set yet, or back-filling so much that the webhook must be
 * off. (Not running: Monitoring.pollerNotRunning.) One failed run is one Lambda error, so it pages once: its
 * PollerRunFailed metric is on the dashboard, not a second alarm.
 */
function pollerAlarms({ thresholds: t, poller }: Watched): AlarmSpec[] {
  return [
    {
      id: 'PollerFailed',
      metric: poller.function.metricErrors({ period: Duration.hours(1), statistic: cloudwatch.Stats.SUM }),
      threshold: t.pollerFailuresPerHour,
      description: 'A back-fill poller run failed (ElevenLabs API or key, storage, crash or timeout; see the "poll failed" log line); conversations the webhook missed are not being back-filled.',
    },
    {
      id: 'PollerApiKeyNotSet',
      metric: customMetric(poller.serviceName, POLLER_METRIC.apiKeyNotSet, Duration.hours(1)),
      threshold: 0,
      description: "The ElevenLabs API key secret (ApiKeySecretName output) still holds the stack's placeholder or is empty: put the key in (aws secretsmanager put-secret-value); until then nothing is back-filled.",
    },
    {
      id: 'ConversationsBackfilled',
      metric: customMetric(poller.serviceName, POLLER_METRIC.conversationsBackfilled, Duration.hours(1)),
      threshold: t.backfilledConversationsPerHour,
      description: 'The poller back-filled many conversations: the webhook is probably off in ElevenLabs, failing, or pointing elsewhere.',
    },
  ];
}

/**
 * The ElevenLabs side: the webhook pointing at this stack switched off (by a user or automatically), gone, not HMAC
 * or not selected, as every poller run reads it; and that check failing. WebhookUnhealthy looks at one-minute
 * periods and ignores the minutes without a run, so it fires in the minute the first run after a switch-off
 * reports it (within one poll interval) and stays in ALARM until a run finds the webhook healthy again.
 */
function webhookAlarms({ thresholds: t, poller }: Watched): AlarmSpec[] {
  return [
    {
      id: 'WebhookUnhealthy',
      metric: new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: POLLER_METRIC.webhookHealthy,
        dimensionsMap: { [METRIC_DIMENSION.service]: poller.serviceName },
        statistic: cloudwatch.Stats.MINIMUM,
        period: Duration.minutes(1),
      }),
      threshold: 1,
      comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      missing: cloudwatch.TreatMissingData.IGNORE,
      description:
        'The ElevenLabs webhook pointing at this stack is disabled, auto-disabled, gone, not HMAC, or not the post-call webhook in use (poller log "webhook unhealthy" names which): no webhooks arrive, only back-fills. Run `npx elevenlabs-conversations doctor` for the fix.',
    },
    {
      id: 'WebhookCheckFailing',
      metric: customMetric(poller.serviceName, POLLER_METRIC.webhookCheckFailed, Duration.hours(1)),
      threshold: t.webhookCheckFailuresPerHour,
      description:
        'The poller could not read the ElevenLabs webhooks or Agents Platform settings (poller log "webhook check failed": usually an API key without permission for them), so WebhookUnhealthy cannot see a webhook switched off. Back-fills go on.',
    },
  ];
}

/** Recordings the poller cannot get: a call recorded by ElevenLabs whose MP3 is still not stored hours later. */
function recordingAlarms({ thresholds: t, poller }: Watched): AlarmSpec[] {
  return [
    {
      id: 'RecordingMissing',
      metric: customMetric(poller.serviceName, POLLER_METRIC.recordingMissing, Duration.hours(1)),
      threshold: t.recordingsMissingPerHour,
      description:
        'A recorded conversation still has no recording stored hours after the call ended: the audio endpoint keeps failing (poller logs "recording not back-filled"), or recordings are not being fetched. Run `npm run backfill` over its start time once the cause is fixed.',
    },
  ];
}

function throttleAlarms({ thresholds: t, receiver, consumer, poller }: Watched): AlarmSpec[] {
  return [receiver, consumer, poller].map((fn) => ({
    id: `${capitalize(fn.serviceName)}Throttles`,
    metric: fn.function.metricThrottles({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
    threshold: t.throttlesPer5Minutes,
    description: `The ${fn.serviceName} function was throttled (account concurrency, or its reserved/maximum concurrency).`,
  }));
}

/** `SEARCH` over one receiver metric, split by its dimension. */
function receiverSearch(receiver: ProjectFunction, metricName: string, dimension: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    label: '',
    expression: `SEARCH('{${METRICS_NAMESPACE},${dimension},${METRIC_DIMENSION.service}} MetricName="${metricName}" ${METRIC_DIMENSION.service}="${receiver.serviceName}"', 'Sum', 300)`,
    usingMetrics: {},
    period: FIVE_MINUTES,
  });
}

/** The first dashboard row: webhook requests, the receiver's outcomes, the ingest queue. */
function ingestionWidgets({ props, receiver }: Watched): cloudwatch.IWidget[] {
  const { api } = props.ingress;
  const { queue, deadLetterQueue } = props.queue;
  return [
    new cloudwatch.GraphWidget({
      title: 'Webhook requests',
      left: [
        api.metricCount({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM, label: 'requests' }),
        api.metricClientError({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM, label: '4xx' }),
        api.metricServerError({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM, label: '5xx' }),
      ],
      right: [api.metricLatency({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.p(99), label: 'latency p99' })],
    }),
    new cloudwatch.GraphWidget({
      title: 'Receiver: accepted and rejected',
      left: [receiverSearch(receiver, RECEIVER_METRIC.eventAccepted, METRIC_DIMENSION.eventType)],
      right: [receiverSearch(receiver, RECEIVER_METRIC.requestRejected, METRIC_DIMENSION.reason)],
    }),
    new cloudwatch.GraphWidget({
      title: 'Ingest queue',
      left: [
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM, label: 'visible' }),
        deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM, label: 'dead letters' }),
      ],
      right: [queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM, label: 'oldest (s)' })],
    }),
  ];
}

/** The second dashboard row: consumer outcomes, the poller, and every function's errors and throttles. */
function processingWidgets({ receiver, consumer, poller }: Watched): cloudwatch.IWidget[] {
  const consumerOutcomes = [
    CONSUMER_METRIC.conversationStored,
    CONSUMER_METRIC.conversationMerged,
    CONSUMER_METRIC.duplicateEvent,
    CONSUMER_METRIC.unknownEventStored,
    CONSUMER_METRIC.transcriptOffloaded,
    CONSUMER_METRIC.recordFailed,
  ];
  const pollerCounts = [POLLER_METRIC.conversationsListed, POLLER_METRIC.conversationsMissing, POLLER_METRIC.conversationsBackfilled, POLLER_METRIC.pollerRunFailed, POLLER_METRIC.apiKeyNotSet];
  const watermarkLag = new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: POLLER_METRIC.watermarkLagSeconds,
    dimensionsMap: { [METRIC_DIMENSION.service]: poller.serviceName },
    statistic: cloudwatch.Stats.MAXIMUM,
    period: Duration.hours(1),
  });
  return [
    new cloudwatch.GraphWidget({ title: 'Consumer outcomes', left: consumerOutcomes.map((name) => customMetric(consumer.serviceName, name, FIVE_MINUTES)) }),
    new cloudwatch.GraphWidget({ title: 'Poller', left: pollerCounts.map((name) => customMetric(poller.serviceName, name, Duration.hours(1))), right: [watermarkLag] }),
    new cloudwatch.GraphWidget({
      title: 'Function errors and throttles',
      left: [receiver, consumer, poller].flatMap((fn) => [
        fn.function.metricErrors({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM, label: `${fn.serviceName} errors` }),
        fn.function.metricThrottles({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM, label: `${fn.serviceName} throttles` }),
      ]),
      right: [receiver, consumer, poller].map((fn) => durationP99(fn)),
    }),
  ];
}

/** The third dashboard row: the ElevenLabs webhook's health, and recordings fetched by the poller and still missing. */
function recordingWidgets({ poller }: Watched): cloudwatch.IWidget[] {
  const pollerMetric = (metricName: string, statistic: string) =>
    new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { [METRIC_DIMENSION.service]: poller.serviceName }, statistic, period: Duration.hours(1) });
  return [
    new cloudwatch.GraphWidget({
      title: 'ElevenLabs webhook (poller)',
      left: [pollerMetric(POLLER_METRIC.webhookHealthy, cloudwatch.Stats.MINIMUM), customMetric(poller.serviceName, POLLER_METRIC.webhookCheckFailed, Duration.hours(1))],
      right: [pollerMetric(POLLER_METRIC.webhookLastFailureAgeSeconds, cloudwatch.Stats.MINIMUM)],
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Recordings (poller)',
      left: [customMetric(poller.serviceName, POLLER_METRIC.recordingsBackfilled, Duration.hours(1))],
      right: [customMetric(poller.serviceName, POLLER_METRIC.recordingMissing, Duration.hours(1))],
      width: 12,
    }),
  ];
}

function durationP99(fn: ProjectFunction): cloudwatch.IMetric {
  return fn.function.metricDuration({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.p(99), label: `${fn.serviceName} p99 (ms)` });
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
