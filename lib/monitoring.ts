import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { Consumer } from './consumer.js';
import type { ConversationQueue } from './conversation-queue.js';
import type { Poller } from './poller.js';
import { CONSUMER_METRIC, METRIC_DIMENSION, METRICS_NAMESPACE, POLLER_METRIC, RECEIVER_METRIC } from '../lambdas/core/contract.js';
import type { SignatureFailureReason } from '../lambdas/core/ingest/signature.js';
import type { ProjectFunction } from './project-function.js';
import { allowCloudWatchAlarms } from './project-key.js';
import type { WebhookIngress } from './webhook-ingress.js';

/** When each alarm fires. Counts are "more than N in the window" unless said otherwise. */
export interface AlarmThresholds {
  /** Messages in the dead-letter queue (any is a lost-for-now event). */
  readonly deadLetterMessages: number;
  /** Age of the oldest message on the ingest queue: the consumer is stuck or far behind. */
  readonly ingestQueueOldestMessageAge: Duration;
  /** HTTP API 5xx answers per 5 minutes (ElevenLabs retries, then may switch the webhook off). */
  readonly apiServerErrorsPer5Minutes: number;
  /** Receiver PublishFailed (archive or queue write failed) per 5 minutes. */
  readonly publishFailuresPer5Minutes: number;
  /** Requests rejected for `invalid_signature` per 5 minutes: usually a wrong or rotated secret. */
  readonly invalidSignaturesPer5Minutes: number;
  /** Consumer Lambda errors (whole-batch failures) per 5 minutes. */
  readonly consumerErrorsPer5Minutes: number;
  /** Consumer RecordFailed (single records sent back for retry) per 5 minutes. */
  readonly consumerRecordFailuresPer5Minutes: number;
  /** Poller Lambda errors plus PollerRunFailed, each, per hour. */
  readonly pollerFailuresPerHour: number;
  /** Window without a single poller invocation before "poller not running" fires. */
  readonly pollerSilence: Duration;
  /** Conversations the poller had to back-fill per hour: above this the webhook is probably failing or off. */
  readonly backfilledConversationsPerHour: number;
  /** Throttles per function per 5 minutes. */
  readonly throttlesPer5Minutes: number;
}

export const DEFAULT_ALARM_THRESHOLDS: AlarmThresholds = {
  deadLetterMessages: 0,
  ingestQueueOldestMessageAge: Duration.minutes(15),
  apiServerErrorsPer5Minutes: 0,
  publishFailuresPer5Minutes: 0,
  invalidSignaturesPer5Minutes: 10,
  consumerErrorsPer5Minutes: 0,
  consumerRecordFailuresPer5Minutes: 0,
  pollerFailuresPerHour: 0,
  pollerSilence: Duration.minutes(30),
  backfilledConversationsPerHour: 5,
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
}

const FIVE_MINUTES = Duration.minutes(5);

/** A project custom metric (Powertools adds the `service` dimension from POWERTOOLS_SERVICE_NAME). */
function customMetric(service: string, metricName: string, period: Duration, extraDimensions: Record<string, string> = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { [METRIC_DIMENSION.service]: service, ...extraDimensions },
    statistic: cloudwatch.Stats.SUM,
    period,
  });
}

/**
 * Alarms on everything that loses or delays conversations, an SNS topic they notify (encrypted, TLS-only) and a
 * dashboard. Every alarm also notifies when it returns to OK.
 */
export class Monitoring extends Construct {
  public readonly topic: sns.Topic;
  public readonly dashboard: cloudwatch.Dashboard;
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  public readonly thresholds: AlarmThresholds;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const t: AlarmThresholds = { ...DEFAULT_ALARM_THRESHOLDS, ...props.thresholds };
    this.thresholds = t;
    const receiver = props.ingress.receiver;
    const consumer = props.consumer.consumer;
    const poller = props.poller.poller;

    let key = props.encryptionKey;
    if (key === undefined) {
      key = new kms.Key(this, 'AlarmTopicKey', {
        description: 'Encrypts the ElevenLabs conversation store alarm topic',
        enableKeyRotation: true,
        // Only transient alarm notifications are encrypted with it.
        removalPolicy: RemovalPolicy.DESTROY,
      });
      allowCloudWatchAlarms(key);
    }
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'ElevenLabs conversation store alarms',
      masterKey: key,
      enforceSSL: true,
    });
    // With a topic policy in place, the default policy is gone: CloudWatch alarms of this account need an explicit allow.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisAccountsCloudWatchAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
        },
      }),
    );
    if (props.alarmEmail !== undefined) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    const alarms: Record<string, cloudwatch.Alarm> = {};
    const action = new cloudwatchActions.SnsAction(this.topic);
    const alarm = (
      id: string,
      metric: cloudwatch.IMetric,
      threshold: number,
      description: string,
      options: { comparison?: cloudwatch.ComparisonOperator; missing?: cloudwatch.TreatMissingData } = {},
    ) => {
      const created = new cloudwatch.Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        comparisonOperator: options.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: options.missing ?? cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      alarms[id] = created;
      return created;
    };

    alarm(
      'DeadLetterQueueNotEmpty',
      props.queue.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      t.deadLetterMessages,
      'Events failed 5 times and sit in the dead-letter queue. Fix the cause (consumer logs), then redrive them to the ingest queue.',
    );
    alarm(
      'IngestQueueBacklog',
      props.queue.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      t.ingestQueueOldestMessageAge.toSeconds(),
      'The oldest message on the ingest queue is old: the consumer is failing, throttled or far behind.',
    );
    alarm(
      'WebhookServerErrors',
      props.ingress.api.metricServerError({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
      t.apiServerErrorsPer5Minutes,
      'The webhook answered 5xx. ElevenLabs retries, and may switch a failing webhook off; the poller back-fills meanwhile.',
    );
    alarm(
      'WebhookPublishFailed',
      customMetric(receiver.serviceName, RECEIVER_METRIC.publishFailed, FIVE_MINUTES),
      t.publishFailuresPer5Minutes,
      'The receiver could not archive or queue a verified event (S3/SQS failure); it answered 500.',
    );
    alarm(
      'WebhookInvalidSignatures',
      customMetric(receiver.serviceName, RECEIVER_METRIC.requestRejected, FIVE_MINUTES, { [METRIC_DIMENSION.reason]: 'invalid_signature' satisfies SignatureFailureReason }),
      t.invalidSignaturesPer5Minutes,
      'Many requests failed HMAC verification: the stored webhook secret is probably wrong or was rotated in ElevenLabs only. ElevenLabs switches failing webhooks off.',
    );
    alarm(
      'ConsumerErrors',
      consumer.function.metricErrors({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
      t.consumerErrorsPer5Minutes,
      'The consumer failed whole batches (crash, timeout or configuration error).',
    );
    alarm(
      'ConsumerRecordFailures',
      customMetric(consumer.serviceName, CONSUMER_METRIC.recordFailed, FIVE_MINUTES),
      t.consumerRecordFailuresPer5Minutes,
      'The consumer returned records for retry; after 5 receives they go to the dead-letter queue.',
    );
    alarm(
      'PollerErrors',
      poller.function.metricErrors({ period: Duration.hours(1), statistic: cloudwatch.Stats.SUM }),
      t.pollerFailuresPerHour,
      'The back-fill poller crashed or timed out.',
    );
    alarm(
      'PollerRunFailed',
      customMetric(poller.serviceName, POLLER_METRIC.pollerRunFailed, Duration.hours(1)),
      t.pollerFailuresPerHour,
      'A poller run failed (ElevenLabs API, API key or storage error); conversations the webhook missed are not being back-filled.',
    );
    if (props.poller.enabled) {
      alarm(
        'PollerNotRunning',
        poller.function.metricInvocations({ period: t.pollerSilence, statistic: cloudwatch.Stats.SUM }),
        1,
        'The back-fill poller has not been invoked for a whole window: check the EventBridge Scheduler schedule.',
        { comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD, missing: cloudwatch.TreatMissingData.BREACHING },
      );
    }
    alarm(
      'ConversationsBackfilled',
      customMetric(poller.serviceName, POLLER_METRIC.conversationsBackfilled, Duration.hours(1)),
      t.backfilledConversationsPerHour,
      'The poller back-filled many conversations: the webhook is probably off in ElevenLabs, failing, or pointing elsewhere.',
    );
    for (const fn of [receiver, consumer, poller]) {
      alarm(
        `${capitalize(fn.serviceName)}Throttles`,
        fn.function.metricThrottles({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
        t.throttlesPer5Minutes,
        `The ${fn.serviceName} function was throttled (account concurrency, or its reserved/maximum concurrency).`,
      );
    }
    this.alarms = alarms;

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(alarms), width: 24, height: 4 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Webhook requests',
        left: [
          props.ingress.api.metricCount({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM, label: 'requests' }),
          props.ingress.api.metricClientError({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM, label: '4xx' }),
          props.ingress.api.metricServerError({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM, label: '5xx' }),
        ],
        right: [props.ingress.api.metricLatency({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.p(99), label: 'latency p99' })],
      }),
      new cloudwatch.GraphWidget({
        title: 'Receiver: accepted and rejected',
        left: [
          new cloudwatch.MathExpression({
            label: '',
            expression: `SEARCH('{${METRICS_NAMESPACE},${METRIC_DIMENSION.eventType},${METRIC_DIMENSION.service}} MetricName="${RECEIVER_METRIC.eventAccepted}" ${METRIC_DIMENSION.service}="${receiver.serviceName}"', 'Sum', 300)`,
            usingMetrics: {},
            period: FIVE_MINUTES,
          }),
        ],
        right: [
          new cloudwatch.MathExpression({
            label: '',
            expression: `SEARCH('{${METRICS_NAMESPACE},${METRIC_DIMENSION.reason},${METRIC_DIMENSION.service}} MetricName="${RECEIVER_METRIC.requestRejected}" ${METRIC_DIMENSION.service}="${receiver.serviceName}"', 'Sum', 300)`,
            usingMetrics: {},
            period: FIVE_MINUTES,
          }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Ingest queue',
        left: [
          props.queue.queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM, label: 'visible' }),
          props.queue.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM, label: 'dead letters' }),
        ],
        right: [props.queue.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM, label: 'oldest (s)' })],
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Consumer outcomes',
        left: [
          CONSUMER_METRIC.conversationStored,
          CONSUMER_METRIC.conversationMerged,
          CONSUMER_METRIC.duplicateEvent,
          CONSUMER_METRIC.unknownEventStored,
          CONSUMER_METRIC.transcriptOffloaded,
          CONSUMER_METRIC.recordFailed,
        ].map((name) =>
          customMetric(consumer.serviceName, name, FIVE_MINUTES),
        ),
      }),
      new cloudwatch.GraphWidget({
        title: 'Poller',
        left: [POLLER_METRIC.conversationsListed, POLLER_METRIC.conversationsMissing, POLLER_METRIC.conversationsBackfilled, POLLER_METRIC.pollerRunFailed].map((name) =>
          customMetric(poller.serviceName, name, Duration.hours(1)),
        ),
        right: [
          new cloudwatch.Metric({
            namespace: METRICS_NAMESPACE,
            metricName: POLLER_METRIC.watermarkLagSeconds,
            dimensionsMap: { [METRIC_DIMENSION.service]: poller.serviceName },
            statistic: cloudwatch.Stats.MAXIMUM,
            period: Duration.hours(1),
          }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Function errors and throttles',
        left: [receiver, consumer, poller].flatMap((fn) => [
          fn.function.metricErrors({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM, label: `${fn.serviceName} errors` }),
          fn.function.metricThrottles({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM, label: `${fn.serviceName} throttles` }),
        ]),
        right: [receiver, consumer, poller].map((fn) => durationP99(fn)),
      }),
    );
  }

  /** Console link to the dashboard. */
  get dashboardUrl(): string {
    return `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.dashboard.dashboardName}`;
  }
}

function durationP99(fn: ProjectFunction): cloudwatch.IMetric {
  return fn.function.metricDuration({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.p(99), label: `${fn.serviceName} p99 (ms)` });
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
