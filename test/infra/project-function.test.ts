import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { ProjectFunction, projectPath } from '../../lib/project-function.js';
import { arnOf, createTestApp, logicalId, statementsOfRole } from './support.js';

// One function built the way every project function is, with a caller environment and later bindings.
const app = createTestApp();
const stack = new Stack(app, 'ProjectFunctionTest');
const fn = new ProjectFunction(stack, 'Example', {
  entry: projectPath('lambdas/receiver/handler.ts'),
  serviceName: 'example',
  timeout: Duration.seconds(20),
  logRetention: RetentionDays.ONE_MONTH,
  logRemovalPolicy: RemovalPolicy.DESTROY,
  environment: { POWERTOOLS_LOG_LEVEL: 'WARN', CALLER_SETTING: 'kept' },
});
fn.addEnvironment('BOUND_LATER', 'value');
fn.addEnvironment('BOUND_LATER', 'value');
const template = Template.fromStack(stack);
const functionId = logicalId(fn.function);

describe('AWS::Lambda::Function', () => {
  it('runs Node.js 24 on arm64 with the handler of the bundled index.mjs', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 20,
      MemorySize: 256,
      LoggingConfig: { LogGroup: { Ref: logicalId(fn.logGroup) } },
      TracingConfig: Match.absent(),
    });
  });

  it('merges the caller environment over the defaults, and later bindings over both, losing nothing', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_SERVICE_NAME: 'example',
          POWERTOOLS_METRICS_NAMESPACE: 'ElevenLabsConversations',
          POWERTOOLS_LOG_LEVEL: 'WARN',
          CALLER_SETTING: 'kept',
          BOUND_LATER: 'value',
        },
      },
    });
  });

  it('refuses to overwrite a variable with a different value', () => {
    expect(() => fn.addEnvironment('CALLER_SETTING', 'replaced')).toThrow(/CALLER_SETTING is already set/);
    expect(() => fn.addEnvironment('POWERTOOLS_SERVICE_NAME', 'other')).toThrow(/already set/);
  });
});

describe('AWS::Logs::LogGroup', () => {
  it('is explicit, with the requested retention and removal policy', () => {
    expect(template.findResources('AWS::Logs::LogGroup')[logicalId(fn.logGroup)]).toMatchObject({
      Properties: { RetentionInDays: 30 },
      DeletionPolicy: 'Delete',
    });
  });
});

describe('AWS::IAM::Role', () => {
  it('is assumed by Lambda only and carries no managed policy (no AWSLambdaBasicExecutionRole)', () => {
    expect(template.findResources('AWS::IAM::Role')[logicalId(fn.role)]?.Properties).toEqual({
      AssumeRolePolicyDocument: {
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
        Version: '2012-10-17',
      },
      Description: 'Execution role of the example function',
    });
  });

  it('may write only to its own log group', () => {
    expect(statementsOfRole(template, logicalId(fn.role))).toEqual([
      { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: arnOf(logicalId(fn.logGroup)) },
    ]);
  });

  it('the function uses that role', () => {
    expect(template.findResources('AWS::Lambda::Function')[functionId]?.Properties).toMatchObject({ Role: arnOf(logicalId(fn.role)) });
  });
});
