import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { ANALYTICS_METRIC, EVENTS_METRIC } from '../lambdas/core/contract.js';
import type { ChangeEvents } from './change-events.js';
import type { ConversationAnalytics } from './conversation-analytics.js';
import { customMetric, type AlarmSpec } from './monitoring.js';

const FIVE_MINUTES = Duration.minutes(5);

/** How late the newest row of the dataset may be before it alarms (Firehose buffers a minute). */
export const ANALYTICS_FRESHNESS_LIMIT = Duration.minutes(15);

function firehoseMetric(analytics: ConversationAnalytics, metricName: string, statistic: string, period: Duration): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: 'AWS/Firehose', metricName, dimensionsMap: { DeliveryStreamName: analytics.delivery.deliveryStream.ref }, statistic, period });
}

function deadLetters(queue: ChangeEvents['pipe']['deadLetterQueue']): cloudwatch.IMetric {
  return queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM });
}

/** The change stream losing or delaying something: a pipe giving up on records, Firehose not converting or not delivering. */
export function changeStreamAlarms(changeEvents: ChangeEvents, analytics: ConversationAnalytics, deadLetterThreshold: number): AlarmSpec[] {
  return [
    {
      id: 'ChangeEventsDeadLetters',
      metric: deadLetters(changeEvents.pipe.deadLetterQueue),
      threshold: deadLetterThreshold,
      description:
        'The events pipe gave up on stream records after its retries: their change events were not put on the bus. The records themselves are in the table; each dead letter names the stream shard and sequence numbers (readable for 24 hours). See README "Runbook".',
    },
    {
      id: 'AnalyticsDeadLetters',
      metric: deadLetters(analytics.pipe.deadLetterQueue),
      threshold: deadLetterThreshold,
      description: 'The dataset pipe gave up on stream records after its retries: their rows are missing from the dataset. Fix the cause, then run analytics rebuild for those days.',
    },
    {
      id: 'AnalyticsConversionFailed',
      metric: firehoseMetric(analytics, 'FailedConversion.Records', cloudwatch.Stats.SUM, FIVE_MINUTES),
      threshold: 0,
      description: 'Firehose could not convert rows to Parquet (schema mismatch); they are under analytics-errors/. Fix the cause, then run analytics rebuild for those days.',
    },
    {
      id: 'AnalyticsDeliveryLate',
      metric: firehoseMetric(analytics, 'DeliveryToS3.DataFreshness', cloudwatch.Stats.MAXIMUM, FIVE_MINUTES),
      threshold: ANALYTICS_FRESHNESS_LIMIT.toSeconds(),
      description: 'The oldest row waiting in Firehose is older than 15 minutes: it cannot write to the bucket (permissions, key) or read the table schema.',
    },
  ];
}

/** A dashboard row: events built and skipped, rows built, Firehose deliveries, both pipes' dead letters. */
export function changeStreamWidgets(changeEvents: ChangeEvents, analytics: ConversationAnalytics): cloudwatch.IWidget[] {
  return [
    new cloudwatch.GraphWidget({
      title: 'Change events',
      left: Object.values(EVENTS_METRIC).map((name) => customMetric(changeEvents.enrichment.serviceName, name, FIVE_MINUTES)),
      right: [deadLetters(changeEvents.pipe.deadLetterQueue)],
    }),
    new cloudwatch.GraphWidget({
      title: 'Dataset rows',
      left: [customMetric(analytics.enrichment.serviceName, ANALYTICS_METRIC.analyticsRowsBuilt, FIVE_MINUTES), firehoseMetric(analytics, 'DeliveryToS3.Records', cloudwatch.Stats.SUM, FIVE_MINUTES)],
      right: [firehoseMetric(analytics, 'DeliveryToS3.DataFreshness', cloudwatch.Stats.MAXIMUM, FIVE_MINUTES), deadLetters(analytics.pipe.deadLetterQueue)],
    }),
    new cloudwatch.GraphWidget({
      title: 'Change stream functions',
      left: [changeEvents.enrichment, analytics.enrichment].flatMap((fn) => [
        fn.function.metricErrors({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM, label: `${fn.serviceName} errors` }),
        fn.function.metricThrottles({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM, label: `${fn.serviceName} throttles` }),
      ]),
    }),
  ];
}
