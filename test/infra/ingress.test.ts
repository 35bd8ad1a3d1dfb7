import { Capture, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { actionsOf, arnOf, logicalId, objectArn, statementsFor, statementsOfRole, synthesizeStack } from './support.js';

// Default configuration: what `npx cdk deploy` gives without any context.
const { stack, template } = synthesizeStack();
const receiverId = logicalId(stack.ingress.receiver.function);
const receiverRoleId = logicalId(stack.ingress.receiver.role);
const apiId = logicalId(stack.ingress.api);
const queueId = logicalId(stack.queue.queue);
const bucketId = logicalId(stack.bucket.bucket);
const webhookSecretId = logicalId(stack.secrets.webhookSecret);

describe('AWS::ApiGatewayV2::Api', () => {
  it('is a single HTTP API (not REST) named after the stack, without CORS: only ElevenLabs servers call it', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      Name: 'ElevenLabsConversations-webhooks',
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.absent(),
    });
  });
});

describe('AWS::ApiGatewayV2::Route', () => {
  it('has exactly one route, POST /webhooks/elevenlabs, and no catch-all', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /webhooks/elevenlabs', ApiId: { Ref: apiId } });
  });
});

describe('AWS::ApiGatewayV2::Integration', () => {
  it('proxies to the receiver with payload format 2.0', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: arnOf(receiverId),
    });
  });
});

describe('AWS::ApiGatewayV2::Stage', () => {
  it('is the auto-deployed $default stage, throttled at 50 requests/s with bursts of 100', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  it('writes JSON access logs to its own log group with request metadata only, never bodies or headers', () => {
    const format = new Capture();
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      AccessLogSettings: { DestinationArn: arnOf(logicalId(stack.ingress.accessLogGroup)), Format: format },
    });

    const fields = JSON.parse(format.asString()) as Record<string, string>;

    expect(fields).toMatchObject({ requestId: '$context.requestId', sourceIp: '$context.identity.sourceIp', status: '$context.status' });
    expect(format.asString()).not.toMatch(/body|header|authorizer/i);
  });
});

describe('AWS::Logs::LogGroup', () => {
  it('keeps access logs for three months and retains them when the stack is deleted', () => {
    expect(template.findResources('AWS::Logs::LogGroup')[logicalId(stack.ingress.accessLogGroup)]).toMatchObject({
      Properties: { RetentionInDays: 90 },
      DeletionPolicy: 'Retain',
    });
  });
});

describe('AWS::Lambda::Permission', () => {
  it('lets only this API invoke the receiver, and only through the webhook route', () => {
    template.resourceCountIs('AWS::Lambda::Permission', 1);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: arnOf(receiverId),
      Principal: 'apigateway.amazonaws.com',
      SourceArn: { 'Fn::Join': ['', Match.arrayWith([{ Ref: apiId }, '/*/*/webhooks/elevenlabs'])] },
    });
  });
});

describe('AWS::Lambda::Function (receiver)', () => {
  it('runs Node.js 24 on arm64 with 512 MB and a 10 s timeout, unreserved', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('Verifies ElevenLabs'),
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 10,
      ReservedConcurrentExecutions: Match.absent(),
    });
  });

  it('gets the contract environment: secret, queue, bucket, skew, cache TTL, and no IP allow-list by default', () => {
    const variables = new Capture();
    template.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('Verifies'), Environment: { Variables: variables } });

    expect(variables.asObject()).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'receiver',
      POWERTOOLS_METRICS_NAMESPACE: 'ElevenLabsConversations',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      WEBHOOK_SECRET_NAME: { Ref: webhookSecretId },
      INGEST_QUEUE_URL: { Ref: queueId },
      CONVERSATION_BUCKET_NAME: { Ref: bucketId },
      SIGNATURE_MAX_FUTURE_SKEW_SECS: '300',
      SECRET_CACHE_TTL_SECS: '300',
    });
  });
});

describe('AWS::IAM::Policy (receiver role)', () => {
  const statements = statementsOfRole(template, receiverRoleId);

  it('allows exactly: write its logs, read the webhook secret, send to the queue, put (and delete unqueued) archive objects', () => {
    expect(actionsOf(statements)).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents', 's3:DeleteObject', 's3:PutObject', 'secretsmanager:GetSecretValue', 'sqs:SendMessage']);
  });

  it('scopes each action to one resource: the secret, the queue, and keys under events/ only', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: receiverRoleId }],
      PolicyDocument: {
        // arrayWith keeps order: the statements appear as the constructs bind them.
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: arnOf(logicalId(stack.ingress.receiver.logGroup)) }),
          Match.objectLike({ Action: 'secretsmanager:GetSecretValue', Resource: { Ref: webhookSecretId } }),
          Match.objectLike({ Action: 'sqs:SendMessage', Resource: arnOf(queueId) }),
          Match.objectLike({ Action: ['s3:DeleteObject', 's3:PutObject'], Resource: objectArn(bucketId, 'events/*') }),
        ]),
      },
    });
    expect(statementsFor(statements, 's3:PutObject')).toHaveLength(1);
  });

  it('has no wildcard action and no managed policy', () => {
    expect(actionsOf(statements).filter((action) => action.includes('*'))).toEqual([]);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] },
      ManagedPolicyArns: Match.absent(),
    });
    expect(template.findResources('AWS::IAM::Role')[receiverRoleId]?.Properties?.ManagedPolicyArns).toBeUndefined();
  });
});
