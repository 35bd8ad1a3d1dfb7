import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { actionsOf, arnOf, logicalId, statementsFor, statementsOfRole, synthesizeStack } from './support.js';

const WEBHOOK_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:elevenlabs/webhook-AbCdEf';
const API_KEY_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:elevenlabs/api-key-GhIjKl';
const WEBHOOK_SECRET_KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const API_KEY_SECRET_KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef';

// Every context key set, the way `-c key=value` delivers them (strings), plus JSON where cdk.json would hold it.
const { stack, template } = synthesizeStack({
  context: {
    kmsKey: 'true',
    webhookSecretArn: WEBHOOK_SECRET_ARN,
    webhookSecretKmsKeyArn: WEBHOOK_SECRET_KEY_ARN,
    elevenLabsApiKeySecretArn: API_KEY_SECRET_ARN,
    elevenLabsApiKeySecretKmsKeyArn: API_KEY_SECRET_KEY_ARN,
    elevenLabsApiBaseUrl: 'https://api.eu.residency.elevenlabs.io/',
    alarmEmail: 'ops@example.com',
    pollSchedule: 'rate(1 hour)',
    pollerEnabled: 'false',
    allowedSourceIps: '34.67.146.145, 34.59.11.47',
    deletionProtection: 'false',
    logRetentionDays: '30',
    logLevel: 'DEBUG',
    tracing: true,
    apiThrottleRateLimit: '20',
    apiThrottleBurstLimit: 40,
    receiverReservedConcurrency: '10',
    consumerMaxConcurrency: '3',
    archiveTransitionDays: '60',
    archiveExpirationDays: '400',
    signatureMaxFutureSkewSecs: '120',
    backfillRecordings: 'false',
    pollerFetchMissingAudio: 'false',
    recordingMissingAfterSecs: '7200',
    pollerMaxPendingAgeSecs: '86400',
    alarmThresholds: '{"invalidSignaturesPer5Minutes":3,"ingestQueueOldestMessageAgeMinutes":5}',
  },
});
const key = stack.key?.key;
if (key === undefined) throw new Error('kmsKey=true must create the project key');
const keyArn = arnOf(logicalId(key));
const receiverId = logicalId(stack.ingress.receiver.function);
const consumerId = logicalId(stack.consumer.consumer.function);
const pollerId = logicalId(stack.poller.poller.function);

function variablesOf(functionId: string): Record<string, unknown> {
  return (template.findResources('AWS::Lambda::Function')[functionId]?.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables;
}

describe('AWS::KMS::Key', () => {
  it('one customer-managed key, rotating yearly, retained, replaces the alarm-topic key', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResource('AWS::KMS::Key', { Properties: Match.objectLike({ EnableKeyRotation: true }), DeletionPolicy: 'Retain' });
  });

  it('denies kms:CreateGrant to everyone except AWS services acting for their own resources', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'DenyGrantsExceptForAwsResources',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'kms:CreateGrant',
            Resource: '*',
            Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
          },
        ]),
      },
    });
  });

  it('lets CloudWatch Logs use it only for this account\'s log groups, and CloudWatch alarms only for this account', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
            Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': Match.anyValue() } },
          }),
          Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } }),
        ]),
      },
    });
  });
});

describe('encryption at rest with the key', () => {
  it('every queue (ingest, its DLQ, both pipes\' DLQs) uses it instead of SSE-SQS', () => {
    const queues = Object.values(template.findResources('AWS::SQS::Queue'));
    expect(queues).toHaveLength(4);
    for (const queue of queues) {
      expect(queue.Properties).toMatchObject({ KmsMasterKeyId: keyArn, KmsDataKeyReusePeriodSeconds: 3600 });
      expect(queue.Properties).not.toHaveProperty('SqsManagedSseEnabled');
    }
  });

  it('the conversation bucket uses SSE-KMS with a bucket key; the access-log bucket stays SSE-S3', () => {
    expect(template.findResources('AWS::S3::Bucket')[logicalId(stack.bucket.bucket)]?.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn }, BucketKeyEnabled: true }] },
    });
    expect(template.findResources('AWS::S3::Bucket')[logicalId(stack.bucket.accessLogBucket)]?.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    });
  });

  it('both tables use it', () => {
    for (const table of Object.values(template.findResources('AWS::DynamoDB::Table'))) {
      expect(table.Properties).toMatchObject({ SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn } });
    }
  });

  it('every log group (five functions, the API, two pipes, Firehose) uses it and keeps 30 days', () => {
    const logGroups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(logGroups).toHaveLength(9);
    for (const logGroup of logGroups) expect(logGroup.Properties).toMatchObject({ KmsKeyId: keyArn, RetentionInDays: 30 });
  });

  it('the alarm topic uses it', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: keyArn });
  });

  it('Athena query results use it', () => {
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: { ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: keyArn } } },
    });
  });
});

describe('AWS::IAM::Policy (key use)', () => {
  it('gives each function only the key actions its data path needs, never a wildcard', () => {
    const receiver = statementsOfRole(template, logicalId(stack.ingress.receiver.role));
    const consumer = statementsOfRole(template, logicalId(stack.consumer.consumer.role));
    const poller = statementsOfRole(template, logicalId(stack.poller.poller.role));

    const keyActions = (statements: typeof receiver) => [...new Set(actionsOf(statements).filter((action) => action.startsWith('kms:')))];
    // Receiver: send to the queue (GenerateDataKey + Decrypt), put under events/ (GenerateDataKey).
    expect(keyActions(receiver)).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    // Consumer: table reads/writes, queue reads, archive reads, transcript/audio writes.
    expect(keyActions(consumer)).toEqual(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']);
    // Poller: its state table, send to the queue, put under events/, and Decrypt for multipart recording uploads.
    expect(keyActions(poller)).toEqual(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']);
    for (const action of [...actionsOf(receiver), ...actionsOf(consumer), ...actionsOf(poller)]) expect(action).not.toMatch(/\*/);
    const stackKeyDecrypts = [...statementsFor(receiver, 'kms:Decrypt'), ...statementsFor(consumer, 'kms:Decrypt')].filter((statement) => JSON.stringify(statement.Resource) === JSON.stringify(keyArn));
    expect(stackKeyDecrypts.length).toBeGreaterThan(0);
  });

  it('allows the stack key only through the service whose data it protects (kms:ViaService), but for the event source', () => {
    const roles = [stack.ingress.receiver.role, stack.consumer.consumer.role, stack.poller.poller.role];
    const keyStatements = roles.flatMap((role) => statementsOfRole(template, logicalId(role)).filter((statement) => actionsOf([statement]).some((action) => action.startsWith('kms:'))));
    const via = (statement: (typeof keyStatements)[number]) => JSON.stringify(statement.Condition ?? {}).match(/kms:ViaService.*?(sqs|s3|dynamodb|secretsmanager)\./)?.[1];
    const without = keyStatements.filter((statement) => via(statement) === undefined);

    expect(keyStatements.map(via).filter(Boolean).sort()).toEqual(expect.arrayContaining(['dynamodb', 's3', 'secretsmanager', 'sqs']));
    // The one exception is CDK's own grant for the SQS event source (Lambda's poller decrypts the consumer's batches).
    expect(without).toEqual([expect.objectContaining({ Action: 'kms:Decrypt', Resource: keyArn })]);
    expect(statementsOfRole(template, logicalId(stack.consumer.consumer.role))).toContainEqual(without[0]);
  });
});

describe('imported secrets', () => {
  it('creates no secrets and points the functions at the given ARNs', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(variablesOf(receiverId).WEBHOOK_SECRET_NAME).toBe(WEBHOOK_SECRET_ARN);
    expect(variablesOf(pollerId).ELEVENLABS_API_KEY_SECRET_NAME).toBe(API_KEY_SECRET_ARN);
  });

  it('grants GetSecretValue on exactly those ARNs', () => {
    const receiver = statementsOfRole(template, logicalId(stack.ingress.receiver.role));
    const poller = statementsOfRole(template, logicalId(stack.poller.poller.role));
    expect(statementsFor(receiver, 'secretsmanager:GetSecretValue').map((statement) => statement.Resource)).toEqual([WEBHOOK_SECRET_ARN]);
    expect(statementsFor(poller, 'secretsmanager:GetSecretValue').map((statement) => statement.Resource)).toEqual([API_KEY_SECRET_ARN]);
  });

  it('grants kms:Decrypt on each imported secret\'s own key, through Secrets Manager only', () => {
    const receiver = statementsOfRole(template, logicalId(stack.ingress.receiver.role));
    const poller = statementsOfRole(template, logicalId(stack.poller.poller.role));
    const viaSecretsManager = { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } };

    expect(receiver).toContainEqual(expect.objectContaining({ Action: 'kms:Decrypt', Resource: WEBHOOK_SECRET_KEY_ARN, Condition: viaSecretsManager }));
    expect(poller).toContainEqual(expect.objectContaining({ Action: 'kms:Decrypt', Resource: API_KEY_SECRET_KEY_ARN, Condition: viaSecretsManager }));
    expect(statementsFor(receiver, 'kms:Decrypt').map((statement) => statement.Resource)).not.toContainEqual(API_KEY_SECRET_KEY_ARN);
    expect(statementsFor(poller, 'kms:Decrypt').map((statement) => statement.Resource)).not.toContainEqual(WEBHOOK_SECRET_KEY_ARN);
  });

  it('exports the imported secrets\' names', () => {
    template.hasOutput('WebhookSecretName', { Value: 'elevenlabs/webhook' });
    template.hasOutput('ApiKeySecretName', { Value: 'elevenlabs/api-key' });
  });
});

describe('AWS::Lambda::Function', () => {
  it('receiver: allow-list, skew, log level, reserved concurrency and tracing from context', () => {
    expect(variablesOf(receiverId)).toMatchObject({ ALLOWED_SOURCE_IPS: '34.67.146.145,34.59.11.47', SIGNATURE_MAX_FUTURE_SKEW_SECS: '120', POWERTOOLS_LOG_LEVEL: 'DEBUG' });
    template.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('Verifies'), ReservedConcurrentExecutions: 10 });
  });

  it('poller: API host without trailing slash, recordings off, their overdue time', () => {
    expect(variablesOf(pollerId)).toMatchObject({
      ELEVENLABS_API_BASE_URL: 'https://api.eu.residency.elevenlabs.io',
      POLLER_BACKFILL_RECORDINGS: 'false',
      POLLER_RECORDING_MISSING_AFTER_SECS: '7200',
      POLLER_MAX_PENDING_AGE_SECS: '86400',
    });
  });

  it('every function traces with X-Ray', () => {
    for (const id of [receiverId, consumerId, pollerId]) {
      expect(template.findResources('AWS::Lambda::Function')[id]?.Properties).toMatchObject({ TracingConfig: { Mode: 'Active' } });
    }
  });
});

describe('throttling and concurrency', () => {
  it('stage throttle 20/40 and consumer maximum concurrency 3', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 } });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 3 } });
  });
});

describe('poller schedule', () => {
  it('is deployed disabled, hourly, and drops invocations older than one interval', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(1 hour)', State: 'DISABLED' });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumEventAgeInSeconds: 3600 });
  });

  it('has no "poller not running" alarm while disabled', () => {
    expect(Object.keys(stack.monitoring.alarms)).not.toContain('PollerNotRunning');
  });
});

describe('retention and thresholds', () => {
  it('conversations table without deletion protection', () => {
    expect(template.findResources('AWS::DynamoDB::Table')[logicalId(stack.table.table)]?.Properties).toMatchObject({ DeletionProtectionEnabled: false });
  });

  it('archive moves after 60 days and is deleted after 400', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Id: 'ArchiveEvents', ExpirationInDays: 400, Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 60 }] })]),
      },
    });
  });

  it('alarm thresholds from context replace the defaults', () => {
    const alarmProperties = (id: string) => template.findResources('AWS::CloudWatch::Alarm')[logicalId(stack.monitoring.alarms[id] ?? stack)]?.Properties;
    expect(alarmProperties('WebhookInvalidSignatures')).toMatchObject({ Threshold: 3 });
    expect(alarmProperties('IngestQueueBacklog')).toMatchObject({ Threshold: 300 });
  });

  it('subscribes the alarm email and exports the key ARN', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    template.hasOutput('KmsKeyArn', { Value: keyArn });
  });
});
