import { Capture, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { actionsOf, arnOf, logicalId, objectArn, statementsOfRole, synthesizeStack } from './support.js';

// Default configuration.
const { stack, template } = synthesizeStack();
const consumerId = logicalId(stack.consumer.consumer.function);
const consumerRoleId = logicalId(stack.consumer.consumer.role);
const pollerId = logicalId(stack.poller.poller.function);
const pollerRoleId = logicalId(stack.poller.poller.role);
const queueId = logicalId(stack.queue.queue);
const bucketId = logicalId(stack.bucket.bucket);
const tableId = logicalId(stack.table.table);
const stateTableId = logicalId(stack.poller.stateTable.table);
const apiKeySecretId = logicalId(stack.secrets.apiKeySecret);

function functionProperties(id: string): Record<string, unknown> {
  return template.findResources('AWS::Lambda::Function')[id]?.Properties as Record<string, unknown>;
}

describe('AWS::Lambda::Function (consumer)', () => {
  it('runs Node.js 24 on arm64, 1024 MB, 60 s, with no reserved concurrency (the event source throttles instead)', () => {
    expect(functionProperties(consumerId)).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], MemorySize: 1024, Timeout: 60 });
    expect(functionProperties(consumerId)).not.toHaveProperty('ReservedConcurrentExecutions');
  });

  it('gets exactly the table and bucket names besides the Powertools settings', () => {
    expect(functionProperties(consumerId).Environment).toEqual({
      Variables: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'consumer',
        POWERTOOLS_METRICS_NAMESPACE: 'ElevenLabsConversations',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        CONVERSATIONS_TABLE_NAME: { Ref: tableId },
        CONVERSATION_BUCKET_NAME: { Ref: bucketId },
      },
    });
  });
});

describe('AWS::Lambda::EventSourceMapping', () => {
  it('reads the ingest queue 10 at a time within 1 s, at most 5 concurrent, reporting partial batch failures', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf(queueId),
      FunctionName: { Ref: consumerId },
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 1,
      ScalingConfig: { MaximumConcurrency: 5 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });
});

describe('AWS::IAM::Policy (consumer role)', () => {
  const statements = statementsOfRole(template, consumerRoleId);

  it('allows exactly: its logs, single-item reads/writes, archive reads, transcript/audio writes, queue consumption', () => {
    expect(actionsOf(statements)).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      's3:AbortMultipartUpload',
      's3:DeleteObject',
      's3:GetObject',
      's3:PutObject',
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
    ]);
  });

  it('scopes DynamoDB to the table itself (no indexes, no Scan/Query/Delete) and S3 to the right prefixes', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: consumerRoleId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: arnOf(tableId) }),
          // Reads back offloaded transcripts/sections before merging a later event.
          Match.objectLike({ Action: 's3:GetObject', Resource: Match.arrayEquals([objectArn(bucketId, 'events/*'), objectArn(bucketId, 'transcripts/*')]) }),
          // An offloaded part or a recording no record points at any more is deleted.
          Match.objectLike({
            Action: ['s3:DeleteObject', 's3:PutObject'],
            Resource: Match.arrayEquals([objectArn(bucketId, 'audio/*'), objectArn(bucketId, 'transcripts/*')]),
          }),
          // Streamed recordings abort their failed uploads.
          Match.objectLike({ Action: 's3:AbortMultipartUpload', Resource: objectArn(bucketId, 'audio/*') }),
          Match.objectLike({ Action: Match.arrayWith(['sqs:DeleteMessage', 'sqs:ReceiveMessage']), Resource: arnOf(queueId) }),
        ]),
      },
    });
  });

  it('has no wildcard action', () => {
    expect(actionsOf(statements).filter((action) => action.includes('*'))).toEqual([]);
  });
});

describe('AWS::Lambda::Function (poller)', () => {
  it('runs Node.js 24 on arm64, 512 MB, 5 minutes, without reserved concurrency (a lease keeps it a singleton)', () => {
    expect(functionProperties(pollerId)).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], MemorySize: 512, Timeout: 300 });
    expect(functionProperties(pollerId)).not.toHaveProperty('ReservedConcurrentExecutions');
  });

  it('leaves every function of the default stack unreserved, so a new account with a concurrency quota of 10 can deploy it', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions.length).toBeGreaterThanOrEqual(3);
    expect(functions.filter((resource) => 'ReservedConcurrentExecutions' in (resource.Properties as object))).toEqual([]);
  });

  it('gets the contract environment with its defaults', () => {
    expect(functionProperties(pollerId).Environment).toEqual({
      Variables: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'poller',
        POWERTOOLS_METRICS_NAMESPACE: 'ElevenLabsConversations',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        CONVERSATIONS_TABLE_NAME: { Ref: tableId },
        POLLER_STATE_TABLE_NAME: { Ref: stateTableId },
        INGEST_QUEUE_URL: { Ref: queueId },
        CONVERSATION_BUCKET_NAME: { Ref: bucketId },
        ELEVENLABS_API_KEY_SECRET_NAME: { Ref: apiKeySecretId },
        ELEVENLABS_API_BASE_URL: 'https://api.elevenlabs.io',
        POLLER_SETTLE_DELAY_SECS: '600',
        POLLER_OVERLAP_SECS: '3600',
        POLLER_INITIAL_LOOKBACK_SECS: '86400',
        POLLER_BACKFILL_RECORDINGS: 'true',
        POLLER_RECORDING_MISSING_AFTER_SECS: '21600',
        POLLER_MAX_PENDING_AGE_SECS: '172800',
        SECRET_CACHE_TTL_SECS: '300',
        WEBHOOK_URL: template.findOutputs('WebhookUrl').WebhookUrl?.Value,
      },
    });
  });

  it("gets the stack's own webhook URL (the HTTP API stage's, which does not depend on the poller: no cycle)", () => {
    const webhookUrl = JSON.stringify(functionProperties(pollerId).Environment);
    expect(webhookUrl).toContain(JSON.stringify({ Ref: logicalId(stack.ingress.api) }));
    expect(webhookUrl).toContain('/webhooks/elevenlabs');
    const api = template.findResources('AWS::ApiGatewayV2::Api')[logicalId(stack.ingress.api)];
    expect(JSON.stringify(api)).not.toContain(pollerId);
  });
});

describe('AWS::Lambda::EventInvokeConfig', () => {
  it('does not retry a failed poll (the next run re-reads the window) and drops invocations older than one interval', () => {
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: pollerId },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 600,
    });
  });
});

describe('AWS::Scheduler::Schedule', () => {
  it('invokes the poller every 10 minutes (UTC) through its own role, with a short retry policy', () => {
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(10 minutes)',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: arnOf(pollerId),
        RoleArn: arnOf(logicalId(stack.poller.node.findChild('ScheduleRole'))),
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 600 },
      },
    });
  });

  it('schedule role trusts only EventBridge Scheduler of this account and may only invoke the poller', () => {
    const scheduleRoleId = logicalId(stack.poller.node.findChild('ScheduleRole'));
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ],
      },
    });
    expect(actionsOf(statementsOfRole(template, scheduleRoleId))).toEqual(['lambda:InvokeFunction']);
    const resources = new Capture();
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: scheduleRoleId }],
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'lambda:InvokeFunction', Resource: resources })] },
    });
    expect(JSON.stringify(resources.asArray())).not.toMatch(/"\*"/);
    expect(JSON.stringify(resources.asArray())).toContain(pollerId);
  });
});

describe('AWS::IAM::Policy (poller role)', () => {
  const statements = statementsOfRole(template, pollerRoleId);

  it('allows exactly: its logs, BatchGetItem on conversations, the watermark and lease items, send, archive put, API key read', () => {
    expect(actionsOf(statements)).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      's3:AbortMultipartUpload',
      's3:DeleteObject',
      's3:PutObject',
      'secretsmanager:GetSecretValue',
      'sqs:SendMessage',
    ]);
  });

  it('reads the conversations table only with BatchGetItem and writes only the state table', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: pollerRoleId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'dynamodb:BatchGetItem', Resource: arnOf(tableId) }),
          Match.objectLike({ Action: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'], Resource: arnOf(stateTableId) }),
          Match.objectLike({ Action: 'sqs:SendMessage', Resource: arnOf(queueId) }),
          // An archive object (or recording) whose event was never queued is deleted.
          Match.objectLike({ Action: ['s3:DeleteObject', 's3:PutObject'], Resource: objectArn(bucketId, 'events/*') }),
          // Only its own streamed recordings: abort a failed upload.
          Match.objectLike({ Action: 's3:AbortMultipartUpload', Resource: objectArn(bucketId, 'events/recordings/*') }),
          Match.objectLike({ Action: 'secretsmanager:GetSecretValue', Resource: { Ref: apiKeySecretId } }),
        ]),
      },
    });
  });

  it('has no wildcard action', () => {
    expect(actionsOf(statements).filter((action) => action.includes('*'))).toEqual([]);
  });
});
