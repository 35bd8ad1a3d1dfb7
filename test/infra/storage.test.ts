import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ConversationTable } from '../../lib/conversation-table.js';
import { arnOf, logicalId, synthesizeStack } from './support.js';

// Default configuration: SQS/S3/DynamoDB/Secrets Manager-managed encryption, no customer-managed key.
const { stack, template } = synthesizeStack();

/** What the CLI's `list` table, the viewer's list and overview and the status filter read (besides both indexes' keys). */
const LISTING_ATTRIBUTES = ['status', 'agent_name', 'call_duration_secs', 'call_successful', 'call_summary_title', 'transcript_summary', 'has_audio', 'audio', 'audio_unavailable', 'initiation_failure'];
const queueId = logicalId(stack.queue.queue);
const deadLetterQueueId = logicalId(stack.queue.deadLetterQueue);
const bucketId = logicalId(stack.bucket.bucket);
const accessLogBucketId = logicalId(stack.bucket.accessLogBucket);
const tableId = logicalId(stack.table.table);
const stateTableId = logicalId(stack.poller.stateTable.table);

const denyInsecureTransport = {
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Condition: { Bool: { 'aws:SecureTransport': 'false' } },
};

describe('AWS::SQS::Queue', () => {
  it('ingest queue: SSE, 1 MiB messages, 14 days, redrive to the DLQ after 5 receives', () => {
    expect(template.findResources('AWS::SQS::Queue')[queueId]?.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MaximumMessageSize: 1_048_576,
      MessageRetentionPeriod: 14 * 86_400,
      RedrivePolicy: { deadLetterTargetArn: arnOf(deadLetterQueueId), maxReceiveCount: 5 },
    });
  });

  it('dead-letter queue: SSE, 1 MiB messages (so every redriven message fits), 14 days, a stated redrive policy', () => {
    expect(template.findResources('AWS::SQS::Queue')[deadLetterQueueId]?.Properties).toEqual({
      SqsManagedSseEnabled: true,
      MaximumMessageSize: 1_048_576,
      MessageRetentionPeriod: 14 * 86_400,
      RedriveAllowPolicy: { redrivePermission: 'allowAll' },
    });
  });

  it('ingest queue: no physical name, so an upgrade never replaces it (and the messages in flight)', () => {
    expect(template.findResources('AWS::SQS::Queue')[queueId]?.Properties).not.toHaveProperty('QueueName');
  });

  it('visibility timeout is at least 6 × the consumer timeout + batching window, read from the template', () => {
    const consumer = template.findResources('AWS::Lambda::Function')[logicalId(stack.consumer.consumer.function)];
    const mapping = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'))[0];
    const queue = template.findResources('AWS::SQS::Queue')[queueId];

    const consumerTimeout = consumer?.Properties?.Timeout as number;
    const batchingWindow = mapping?.Properties?.MaximumBatchingWindowInSeconds as number;
    const visibilityTimeout = queue?.Properties?.VisibilityTimeout as number;

    expect(consumerTimeout).toBeGreaterThan(0);
    expect(visibilityTimeout).toBeGreaterThanOrEqual(6 * consumerTimeout + batchingWindow);
  });
});

describe('AWS::SQS::QueuePolicy', () => {
  it.each([
    ['ingest queue', queueId],
    ['dead-letter queue', deadLetterQueueId],
  ])('%s denies every request not sent over TLS', (_name, id) => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: id }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ ...denyInsecureTransport, Action: 'sqs:*' })]) },
    });
  });
});

describe('AWS::S3::Bucket', () => {
  it('conversation bucket: public access blocked, SSE-S3, versioned, owner-enforced, logs to the log bucket, retained', () => {
    template.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        VersioningConfiguration: { Status: 'Enabled' },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LoggingConfiguration: { DestinationBucketName: { Ref: accessLogBucketId }, LogFilePrefix: 'conversation-bucket/' },
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('moves events/ to Glacier Instant Retrieval after 30 days and never deletes it by default', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        TransitionDefaultMinimumObjectSize: 'all_storage_classes_128K',
        Rules: Match.arrayWith([
          {
            Id: 'ArchiveEvents',
            Prefix: 'events/',
            Status: 'Enabled',
            Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }],
          },
        ]),
      },
    });
  });

  it('expires old object versions after 90 days and aborts stale multipart uploads', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Id: 'ExpireOldVersions', NoncurrentVersionExpiration: { NoncurrentDays: 90 }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
        ]),
      },
    });
  });

  it('access-log bucket: public access blocked, SSE-S3 (server access logging cannot use KMS), versioned, expires logs after a year, retained', () => {
    expect(template.findResources('AWS::S3::Bucket')[accessLogBucketId]).toMatchObject({
      Properties: {
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        VersioningConfiguration: { Status: 'Enabled' },
        LifecycleConfiguration: {
          Rules: [
            { ExpirationInDays: 365, NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' },
            { ExpiredObjectDeleteMarker: true, Status: 'Enabled' },
          ],
        },
      },
      DeletionPolicy: 'Retain',
    });
  });
});

describe('AWS::S3::BucketPolicy', () => {
  it('conversation bucket denies requests without TLS and with TLS below 1.2', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ ...denyInsecureTransport, Action: 's3:*' }),
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    });
  });

  it('access-log bucket lets only S3 logging from the conversation bucket write, under its prefix', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: accessLogBucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ ...denyInsecureTransport, Action: 's3:*' }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 's3:PutObject',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Resource: { 'Fn::Join': ['', [arnOf(accessLogBucketId), '/conversation-bucket/*']] },
            Condition: { ArnLike: { 'aws:SourceArn': arnOf(bucketId) }, StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      },
    });
  });

  it('grants nothing to anyone else (no Allow without a service principal)', () => {
    const statements = Object.values(template.findResources('AWS::S3::BucketPolicy')).flatMap(
      (policy) => (policy.Properties as { PolicyDocument: { Statement: { Effect: string; Principal: unknown }[] } }).PolicyDocument.Statement,
    );
    const allows = statements.filter((statement) => statement.Effect === 'Allow');
    expect(allows.map((statement) => statement.Principal)).toEqual([{ Service: 'logging.s3.amazonaws.com' }]);
  });
});

describe('AWS::DynamoDB::Table', () => {
  it('conversations: partition key conversation_id (S), no sort key, on-demand, PITR, AWS-managed SSE, TTL expires_at', () => {
    expect(template.findResources('AWS::DynamoDB::Table')[tableId]?.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'conversation_id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      DeletionProtectionEnabled: true,
    });
  });

  it('conversations: GSIs by_agent (agent_id S, start_time_unix_secs N) and by_day (start_day S, start_time_unix_secs N), projecting the listing attributes only', () => {
    const properties = template.findResources('AWS::DynamoDB::Table')[tableId]?.Properties as {
      GlobalSecondaryIndexes: unknown[];
      AttributeDefinitions: unknown[];
    };

    expect(properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'by_agent',
        KeySchema: [
          { AttributeName: 'agent_id', KeyType: 'HASH' },
          { AttributeName: 'start_time_unix_secs', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['start_day', ...LISTING_ATTRIBUTES] },
      },
      {
        IndexName: 'by_day',
        KeySchema: [
          { AttributeName: 'start_day', KeyType: 'HASH' },
          { AttributeName: 'start_time_unix_secs', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['agent_id', ...LISTING_ATTRIBUTES] },
      },
    ]);
    expect(properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: 'conversation_id', AttributeType: 'S' },
        { AttributeName: 'agent_id', AttributeType: 'S' },
        { AttributeName: 'start_day', AttributeType: 'S' },
        { AttributeName: 'start_time_unix_secs', AttributeType: 'N' },
      ]),
    );
    expect(properties.AttributeDefinitions).toHaveLength(4);
  });

  it('conversations table is retained with its data when the stack is deleted', () => {
    expect(template.findResources('AWS::DynamoDB::Table')[tableId]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('poller state: partition key id (S), on-demand, PITR, SSE, disposable (destroyed with the stack)', () => {
    expect(template.findResources('AWS::DynamoDB::Table')[stateTableId]).toMatchObject({
      Properties: {
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      },
      DeletionPolicy: 'Delete',
    });
  });

  it('sets no physical table names (parallel stacks and tests must not collide)', () => {
    for (const table of Object.values(template.findResources('AWS::DynamoDB::Table'))) {
      expect(table.Properties).not.toHaveProperty('TableName');
    }
  });
});

describe('AWS::SecretsManager::Secret', () => {
  it('creates the webhook secret with a Secrets Manager-generated value (no value in the template), retained', () => {
    const secret = template.findResources('AWS::SecretsManager::Secret')[logicalId(stack.secrets.webhookSecret)];

    expect(secret).toMatchObject({ Properties: { GenerateSecretString: {} }, DeletionPolicy: 'Retain' });
    expect(secret?.Properties).not.toHaveProperty('SecretString');
    expect(secret?.Properties).not.toHaveProperty('Name');
  });

  it('creates the API-key secret with a generated value too, as it always has (a changed generation would overwrite the key an operator put in), retained', () => {
    const secret = template.findResources('AWS::SecretsManager::Secret')[logicalId(stack.secrets.apiKeySecret)];

    expect(secret).toMatchObject({ Properties: { GenerateSecretString: {} }, DeletionPolicy: 'Retain' });
    expect(secret?.Properties).not.toHaveProperty('SecretString');
    expect(secret?.Properties).not.toHaveProperty('Name');
    expect(Object.keys(template.findResources('AWS::SecretsManager::Secret'))).toHaveLength(2);
  });
});

describe('ConversationTable index projections (the steps of upgrading a stack deployed with projection ALL)', () => {
  it('keeps an index at ALL, or leaves it out, as the context asks', () => {
    // Prepare
    const upgrading = new Stack(new App(), 'Upgrading');

    // Act
    new ConversationTable(upgrading, 'Conversations', { byAgentIndexProjection: 'none', byDayIndexProjection: 'all' });

    // Assess
    const [table] = Object.values(Template.fromStack(upgrading).findResources('AWS::DynamoDB::Table'));
    expect(table?.Properties.GlobalSecondaryIndexes).toEqual([expect.objectContaining({ IndexName: 'by_day', Projection: { ProjectionType: 'ALL' } })]);
  });
});
