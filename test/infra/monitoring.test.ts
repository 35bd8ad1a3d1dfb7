import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE as HANDLER_METRICS_NAMESPACE } from '../../lambdas/core/observability.js';
import { arnOf, logicalId, synthesizeStack } from './support.js';

// Default configuration (rate(10 minutes) schedule, no alarm email, no customer-managed key).
const { stack, template } = synthesizeStack();
const alarms = stack.monitoring.alarms;
const topicId = logicalId(stack.monitoring.topic);
const receiverId = logicalId(stack.ingress.receiver.function);
const consumerId = logicalId(stack.consumer.consumer.function);
const pollerId = logicalId(stack.poller.poller.function);
const deliveryStreamId = logicalId(stack.analytics.delivery.deliveryStream);

const GREATER = 'GreaterThanThreshold';
const NAMESPACE = 'ElevenLabsConversations';

/** The alarm's CloudFormation properties, by construct id. */
function alarmProperties(id: string): Record<string, unknown> {
  const alarm = alarms[id];
  if (alarm === undefined) throw new Error(`no alarm ${id}`);
  return template.findResources('AWS::CloudWatch::Alarm')[logicalId(alarm)]?.Properties as Record<string, unknown>;
}

const expectedAlarms: [string, Record<string, unknown>][] = [
  [
    'DeadLetterQueueNotEmpty',
    {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack.queue.deadLetterQueue), 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 0,
      ComparisonOperator: GREATER,
    },
  ],
  [
    'IngestQueueBacklog',
    {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack.queue.queue), 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 900,
      ComparisonOperator: GREATER,
    },
  ],
  [
    'WebhookServerErrors',
    {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [{ Name: 'ApiId', Value: { Ref: logicalId(stack.ingress.api) } }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: GREATER,
    },
  ],
  [
    'WebhookClientErrors',
    {
      Namespace: 'AWS/ApiGateway',
      MetricName: '4xx',
      Dimensions: [{ Name: 'ApiId', Value: { Ref: logicalId(stack.ingress.api) } }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 100,
      ComparisonOperator: GREATER,
    },
  ],
  [
    'WebhookPublishFailed',
    { Namespace: NAMESPACE, MetricName: 'PublishFailed', Dimensions: [{ Name: 'service', Value: 'receiver' }], Statistic: 'Sum', Period: 300, Threshold: 0, ComparisonOperator: GREATER },
  ],
  [
    'WebhookInvalidSignatures',
    {
      Namespace: NAMESPACE,
      MetricName: 'RequestRejected',
      Dimensions: [
        { Name: 'reason', Value: 'invalid_signature' },
        { Name: 'service', Value: 'receiver' },
      ],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 10,
      ComparisonOperator: GREATER,
    },
  ],
  [
    'ConsumerErrors',
    { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: consumerId } }], Statistic: 'Sum', Period: 300, Threshold: 0, ComparisonOperator: GREATER },
  ],
  [
    'ConsumerRecordFailures',
    { Namespace: NAMESPACE, MetricName: 'RecordFailed', Dimensions: [{ Name: 'service', Value: 'consumer' }], Statistic: 'Sum', Period: 300, Threshold: 0, ComparisonOperator: GREATER },
  ],
  [
    'PollerFailed',
    { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: pollerId } }], Statistic: 'Sum', Period: 3600, Threshold: 0, ComparisonOperator: GREATER },
  ],
  [
    'PollerApiKeyNotSet',
    { Namespace: NAMESPACE, MetricName: 'ApiKeyNotSet', Dimensions: [{ Name: 'service', Value: 'poller' }], Statistic: 'Sum', Period: 3600, Threshold: 0, ComparisonOperator: GREATER },
  ],
  [
    'ConversationsBackfilled',
    { Namespace: NAMESPACE, MetricName: 'ConversationsBackfilled', Dimensions: [{ Name: 'service', Value: 'poller' }], Statistic: 'Sum', Period: 3600, Threshold: 5, ComparisonOperator: GREATER },
  ],
  [
    'WebhookUnhealthy',
    {
      Namespace: NAMESPACE,
      MetricName: 'WebhookHealthy',
      Dimensions: [{ Name: 'service', Value: 'poller' }],
      Statistic: 'Minimum',
      Period: 60,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'ignore',
    },
  ],
  [
    'WebhookCheckFailing',
    { Namespace: NAMESPACE, MetricName: 'WebhookCheckFailed', Dimensions: [{ Name: 'service', Value: 'poller' }], Statistic: 'Sum', Period: 3600, Threshold: 0, ComparisonOperator: GREATER },
  ],
  [
    'RecordingMissing',
    { Namespace: NAMESPACE, MetricName: 'RecordingMissing', Dimensions: [{ Name: 'service', Value: 'poller' }], Statistic: 'Sum', Period: 3600, Threshold: 0, ComparisonOperator: GREATER },
  ],
  ...[
    ['ChangeEventsDeadLetters', stack.changeEvents.pipe.deadLetterQueue],
    ['AnalyticsDeadLetters', stack.analytics.pipe.deadLetterQueue],
  ].map(([id, queue]): [string, Record<string, unknown>] => [
    id as string,
    {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(queue as typeof stack.queue.queue), 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 0,
      ComparisonOperator: GREATER,
    },
  ]),
  [
    'AnalyticsConversionFailed',
    { Namespace: 'AWS/Firehose', MetricName: 'FailedConversion.Records', Dimensions: [{ Name: 'DeliveryStreamName', Value: { Ref: deliveryStreamId } }], Statistic: 'Sum', Period: 300, Threshold: 0, ComparisonOperator: GREATER },
  ],
  [
    'AnalyticsDeliveryLate',
    { Namespace: 'AWS/Firehose', MetricName: 'DeliveryToS3.DataFreshness', Dimensions: [{ Name: 'DeliveryStreamName', Value: { Ref: deliveryStreamId } }], Statistic: 'Maximum', Period: 300, Threshold: 900, ComparisonOperator: GREATER },
  ],
  ...[
    ['ReceiverThrottles', receiverId],
    ['ConsumerThrottles', consumerId],
    ['PollerThrottles', pollerId],
  ].map(([id, functionId]): [string, Record<string, unknown>] => [
    id as string,
    { Namespace: 'AWS/Lambda', MetricName: 'Throttles', Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }], Statistic: 'Sum', Period: 300, Threshold: 0, ComparisonOperator: GREATER },
  ]),
];

/** The two silent parts of PollerNotRunning (no actions of their own). */
const POLLER_NOT_RUNNING_PARTS = ['PollerSilent', 'PollerRanThisWeek'];

describe('AWS::CloudWatch::Alarm', () => {
  it('has exactly the alarms listed here, one page per cause', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', expectedAlarms.length + POLLER_NOT_RUNNING_PARTS.length);
    expect(Object.keys(alarms).sort()).toEqual([...expectedAlarms.map(([id]) => id), 'PollerNotRunning'].sort());
  });

  it.each(expectedAlarms)('%s watches the right metric with its threshold', (id, expected) => {
    expect(alarmProperties(id)).toMatchObject({
      TreatMissingData: 'notBreaching',
      ...expected,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
    });
  });

  it.each(expectedAlarms)('%s notifies the alarm topic on ALARM and on OK', (id) => {
    expect(alarmProperties(id)).toMatchObject({ AlarmActions: [{ Ref: topicId }], OKActions: [{ Ref: topicId }], AlarmDescription: expect.any(String) });
  });

  it('pages once for a failed poller run: no second alarm on PollerRunFailed (it is on the dashboard)', () => {
    const watchedMetrics = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) => (alarm.Properties as { MetricName?: string }).MetricName);
    expect(watchedMetrics).not.toContain('PollerRunFailed');
    expect(watchedMetrics.filter((name) => name === 'Errors')).toHaveLength(2);
  });

  it('publishes custom metrics under the namespace the handlers use', () => {
    expect(HANDLER_METRICS_NAMESPACE).toBe(NAMESPACE);
  });
});

describe('AWS::CloudWatch::CompositeAlarm (PollerNotRunning)', () => {
  const parts = template.findResources('AWS::CloudWatch::Alarm');
  const part = (id: string) => Object.entries(parts).find(([logical]) => logical.startsWith(`Monitoring${id}`));

  it('fires only when the poller is silent for the window and ran during the last week, so never before its first run', () => {
    const [silentId, silent] = part('PollerSilent') ?? [];
    const [ranId, ran] = part('PollerRanThisWeek') ?? [];
    expect(silent?.Properties).toMatchObject({
      MetricName: 'Invocations',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: pollerId } }],
      Period: 1800,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    expect(ran?.Properties).toMatchObject({
      MetricName: 'Invocations',
      Period: 86_400,
      EvaluationPeriods: 7,
      DatapointsToAlarm: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    const composite = Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm'));
    expect(composite).toHaveLength(1);
    expect(JSON.stringify(composite[0]?.Properties?.AlarmRule)).toMatch(new RegExp(`ALARM\\(.*${silentId}.*\\) AND ALARM\\(.*${ranId}`));
  });

  it('notifies from the composite only', () => {
    for (const id of POLLER_NOT_RUNNING_PARTS) expect(part(id)?.[1]?.Properties).not.toHaveProperty('AlarmActions');
    template.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', { AlarmActions: [{ Ref: topicId }], OKActions: [{ Ref: topicId }], AlarmDescription: Match.stringLikeRegexp('ran before') });
  });
});

describe('AWS::SNS::Topic', () => {
  it('is encrypted with a dedicated, rotating KMS key (CloudWatch cannot publish to topics under the AWS-managed SNS key)', () => {
    const keyId = logicalId(stack.monitoring.node.findChild('AlarmTopicKey'));
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: arnOf(keyId) });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      },
    });
  });

  it('has no email subscription unless alarmEmail is set', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('AWS::SNS::TopicPolicy', () => {
  it('denies publishing without TLS and allows only this account\'s CloudWatch alarms to publish', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Principal: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sns:Publish',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': Match.anyValue() },
            },
          }),
        ]),
      },
    });
  });
});

describe('AWS::CloudWatch::Dashboard', () => {
  it('shows the alarms and the pipeline metrics on one dashboard', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]?.Properties?.DashboardBody);
    for (const metric of ['RequestRejected', 'EventAccepted', 'ConversationStored', 'RecordFailed', 'ConversationsBackfilled', 'WatermarkLagSeconds', 'ApproximateAgeOfOldestMessage', 'RecordingsBackfilled', 'RecordingMissing', 'WebhookHealthy', 'WebhookLastFailureAgeSeconds', 'WebhookCheckFailed']) {
      expect(body).toContain(metric);
    }
  });
});

describe('Outputs', () => {
  it('exports the webhook URL with its full path', () => {
    template.hasOutput('WebhookUrl', {
      Value: { 'Fn::Join': ['', Match.arrayWith([{ Ref: logicalId(stack.ingress.api) }, '/webhooks/elevenlabs'])] },
    });
  });

  it.each([
    ['WebhookSecretName', Match.objectLike({ 'Fn::Join': Match.anyValue() })],
    ['ApiKeySecretName', Match.objectLike({ 'Fn::Join': Match.anyValue() })],
    ['IngestQueueUrl', { Ref: logicalId(stack.queue.queue) }],
    ['IngestQueueArn', arnOf(logicalId(stack.queue.queue))],
    ['DeadLetterQueueUrl', { Ref: logicalId(stack.queue.deadLetterQueue) }],
    ['DeadLetterQueueArn', arnOf(logicalId(stack.queue.deadLetterQueue))],
    ['ConversationBucketName', { Ref: logicalId(stack.bucket.bucket) }],
    ['ConversationsTableName', { Ref: logicalId(stack.table.table) }],
    ['PollerStateTableName', { Ref: logicalId(stack.poller.stateTable.table) }],
    ['PollerFunctionName', { Ref: pollerId }],
    ['AlarmTopicArn', { Ref: topicId }],
    ['DashboardUrl', Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([{ Ref: logicalId(stack.monitoring.dashboard) }])] })],
  ])('exports %s', (name, value) => {
    template.hasOutput(name, { Value: value, Description: Match.anyValue() });
  });

  it('exports no key ARN without a customer-managed key', () => {
    expect(Object.keys(template.findOutputs('*'))).not.toContain('KmsKeyArn');
  });
});
