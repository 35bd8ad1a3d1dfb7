/**
 * `doctor` against "AWS": every name from the stack's outputs (DescribeStacks), the secrets, the poller's Lambda
 * metrics and the alarms. CloudFormation, Secrets Manager and CloudWatch have no emulator, so they answer from
 * aws-sdk-client-mock client doubles; the table (dynalite) and the dead-letter queue (fauxqs) are the emulators,
 * reached as AWS would be; ElevenLabs is the fake API.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricStatisticsCommand, type GetMetricStatisticsCommandInput } from '@aws-sdk/client-cloudwatch';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { runDoctor } from '../../bin/cli/doctor-command.js';
import type { CommandIo } from '../../bin/cli/io.js';
import { FAKE_API_KEY, startFakeElevenLabsApi, type FakeElevenLabsApi } from '../../bin/local/fake-elevenlabs-api.js';
import type { FakeWebhook } from '../../bin/local/fake-elevenlabs-workspace.js';
import { STACK_OUTPUT } from '../../lambdas/core/contract.js';
import { createConversationsTable } from '../support/conversation-tables.js';
import { sdkEnvironmentFor, startDynamoDbEmulator, startSqsS3Emulator, type DynamoDbEmulator, type SqsS3Emulator } from '../support/emulators.js';
import { STACK_PLACEHOLDER_EXAMPLE } from '../support/generated-secret.js';

const cloudFormation = mockClient(CloudFormationClient);
const secretsManager = mockClient(SecretsManagerClient);
const cloudWatch = mockClient(CloudWatchClient);
const ENVIRONMENT = { ...process.env };
const WEBHOOK_URL = 'https://abc123.execute-api.us-east-1.amazonaws.com/webhooks/elevenlabs';
const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:Prod-MonitoringAlarmTopic-AbC';
const NOW = Math.floor(Date.now() / 1000);

let dynamo: DynamoDbEmulator;
let sqsS3: SqsS3Emulator;
let fake: FakeElevenLabsApi;
let webhook: FakeWebhook;
let tableName: string;
let deadLetterQueueUrl: string;
let secrets: Record<string, string>;
let lambdaMetrics: Record<string, number>;

const outputs = () => ({
  [STACK_OUTPUT.webhookUrl]: WEBHOOK_URL,
  [STACK_OUTPUT.webhookSecretName]: 'Prod/WebhookSecret',
  [STACK_OUTPUT.apiKeySecretName]: 'Prod/ApiKeySecret',
  [STACK_OUTPUT.deadLetterQueueUrl]: deadLetterQueueUrl,
  [STACK_OUTPUT.pollerFunctionName]: 'Prod-PollerPoller-XyZ',
  [STACK_OUTPUT.alarmTopicArn]: TOPIC_ARN,
  [STACK_OUTPUT.conversationsTableName]: tableName,
  [STACK_OUTPUT.conversationBucketName]: 'prod-conversations',
});

interface Report {
  readonly code: number;
  readonly checks: Array<{ id: string; status: string; message: string; fix: string }>;
  readonly changes?: Array<{ action: string; done: boolean }>;
}

async function doctor(args: string[], env: NodeJS.ProcessEnv = { ELEVENLABS_API_BASE_URL: fake.url }): Promise<Report> {
  let stdout = '';
  const io: CommandIo = { stdout: { write: (chunk) => ((stdout += chunk.toString()), true) }, stderr: { write: () => true }, env };
  const code = await runDoctor([...args, '--json'], io);
  return { code, ...(JSON.parse(stdout) as Omit<Report, 'code'>) };
}
const check = (report: Report, id: string) => report.checks.find((item) => item.id === id);

beforeAll(async () => {
  [dynamo, sqsS3, fake] = await Promise.all([startDynamoDbEmulator(), startSqsS3Emulator(), startFakeElevenLabsApi({ count: 8, seed: 5 })]);
  tableName = await createConversationsTable(dynamo.client, 'prod-doctor-conversations');
  deadLetterQueueUrl = sqsS3.server.createQueue('prod-doctor-dlq').queueUrl ?? '';
  const [agentId] = fake.agents();
  await DynamoDBDocumentClient.from(dynamo.client).send(
    new PutCommand({ TableName: tableName, Item: { conversation_id: 'conv_doctor_1', agent_id: agentId, status: 'done', start_time_unix_secs: NOW - 3600, start_day: new Date((NOW - 3600) * 1000).toISOString().slice(0, 10), record_version: 1 } }),
  );
  webhook = fake.workspace.connectPostCallWebhook(WEBHOOK_URL, { retry_enabled: true });
  // fauxqs queue URLs use a host WHATWG URL rejects; the SDK warns, then uses the endpoint. Only that warning is muted.
  const warn = console.warn.bind(console);
  vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
    const [first] = args;
    if (first instanceof TypeError && (first as TypeError & { code?: string }).code === 'ERR_INVALID_URL') return;
    warn(...args);
  });
  Object.assign(process.env, sdkEnvironmentFor({ dynamodb: dynamo.endpoint, s3: sqsS3.endpoint, sqs: sqsS3.endpoint }));
});

afterAll(async () => {
  process.env = { ...ENVIRONMENT };
  vi.restoreAllMocks();
  cloudFormation.restore();
  secretsManager.restore();
  cloudWatch.restore();
  await Promise.all([dynamo?.stop(), sqsS3?.stop(), fake?.stop()]);
});

beforeEach(() => {
  secrets = { 'Prod/WebhookSecret': 'wsec_0123456789abcdef0123456789abcdef', 'Prod/ApiKeySecret': FAKE_API_KEY };
  lambdaMetrics = { Invocations: 3, Errors: 0 };
  cloudFormation.reset();
  secretsManager.reset();
  cloudWatch.reset();
  cloudFormation.on(DescribeStacksCommand, { StackName: 'Prod' }).resolves({ Stacks: [{ StackName: 'Prod', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: Object.entries(outputs()).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }] });
  secretsManager.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => ({ Name: input.SecretId, SecretString: secrets[input.SecretId] }));
  cloudWatch.on(GetMetricStatisticsCommand).callsFake((input: GetMetricStatisticsCommandInput) => ({ Datapoints: [{ Sum: lambdaMetrics[input.MetricName ?? ''] ?? 0 }] }));
  cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [], CompositeAlarms: [] });
});

describe('doctor on a deployed stack', () => {
  it('finds everything from the stack and exits 0 when both sides are healthy, reading the key from the stack’s secret', async () => {
    // Act
    const report = await doctor(['--stack', 'Prod']);

    // Assess
    expect(report.checks.filter((item) => item.status !== 'ok')).toEqual([]);
    expect(report.code).toBe(0);
    expect(check(report, 'poller')?.message).toContain('ran 3 time(s)');
    expect(cloudWatch.commandCalls(GetMetricStatisticsCommand)[0]?.args[0].input).toMatchObject({ Namespace: 'AWS/Lambda', Dimensions: [{ Name: 'FunctionName', Value: 'Prod-PollerPoller-XyZ' }] });
    expect(cloudWatch.commandCalls(DescribeAlarmsCommand)[0]?.args[0].input).toMatchObject({ ActionPrefix: TOPIC_ARN, StateValue: 'ALARM' });
  });

  it('fails both secret lines while they hold the stack’s placeholder, and cannot check ElevenLabs without a key: exit 1', async () => {
    // Prepare
    secrets = { 'Prod/WebhookSecret': STACK_PLACEHOLDER_EXAMPLE, 'Prod/ApiKeySecret': STACK_PLACEHOLDER_EXAMPLE };

    // Act
    const report = await doctor(['--stack', 'Prod']);

    // Assess
    expect(check(report, 'webhook-secret')).toMatchObject({ status: 'fail', fix: "aws secretsmanager put-secret-value --secret-id Prod/WebhookSecret --secret-string 'wsec_…' (the secret ElevenLabs shows for the webhook)" });
    expect(check(report, 'api-key-secret')).toMatchObject({ status: 'fail', fix: "aws secretsmanager put-secret-value --secret-id Prod/ApiKeySecret --secret-string 'sk_…'" });
    expect(check(report, 'webhook-exists')?.message).toContain('not checked: no ElevenLabs API key');
    expect(report.code).toBe(1);
  });

  it('uses ELEVENLABS_API_KEY for the ElevenLabs side when set, still reporting the placeholder in the secret', async () => {
    // Prepare
    secrets['Prod/ApiKeySecret'] = STACK_PLACEHOLDER_EXAMPLE;

    // Act
    const report = await doctor(['--stack', 'Prod'], { ELEVENLABS_API_BASE_URL: fake.url, ELEVENLABS_API_KEY: FAKE_API_KEY });

    // Assess
    expect(check(report, 'api-key-secret')).toMatchObject({ status: 'fail', message: expect.stringContaining('use ELEVENLABS_API_KEY from this shell') });
    expect(check(report, 'webhook-exists')?.status).toBe('ok');
    expect(report.code).toBe(2);
  });

  it('accepts a rotation list as a webhook secret, and refuses a placeholder inside one', async () => {
    secrets['Prod/WebhookSecret'] = '["wsec_new0123456789","wsec_old0123456789"]';
    expect(check(await doctor(['--stack', 'Prod']), 'webhook-secret')).toMatchObject({ status: 'ok', message: expect.stringContaining('2 secrets (rotation)') });
    secrets['Prod/WebhookSecret'] = JSON.stringify(['wsec_new0123456789', STACK_PLACEHOLDER_EXAMPLE]);
    expect(check(await doctor(['--stack', 'Prod']), 'webhook-secret')?.status).toBe('fail');
  });

  it('warns when the poller has not run, or some runs failed', async () => {
    lambdaMetrics = { Invocations: 0, Errors: 0 };
    expect(check(await doctor(['--stack', 'Prod']), 'poller')).toMatchObject({ status: 'warn', message: expect.stringContaining('was not invoked in the last 30 minutes') });
    lambdaMetrics = { Invocations: 3, Errors: 1 };
    expect(check(await doctor(['--stack', 'Prod']), 'poller')).toMatchObject({ status: 'warn', message: '1 of 3 poller run(s) in the last 30 minutes failed' });
  });

  it('fails for alarms in ALARM, naming them', async () => {
    // Prepare
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'Prod-MonitoringWebhookUnhealthy-1A2B' }], CompositeAlarms: [{ AlarmName: 'Prod-MonitoringPollerNotRunning-3C4D' }] });

    // Act / Assess
    expect(check(await doctor(['--stack', 'Prod']), 'alarms')).toMatchObject({ status: 'fail', message: 'in ALARM: Prod-MonitoringWebhookUnhealthy-1A2B, Prod-MonitoringPollerNotRunning-3C4D' });
  });

  it('fails for messages in the dead-letter queue, with the redrive command for this stack', async () => {
    // Prepare
    await sqsS3.sqs.send(new SendMessageCommand({ QueueUrl: deadLetterQueueUrl, MessageBody: 'poison' }));

    // Act / Assess
    expect(check(await doctor(['--stack', 'Prod']), 'dead-letter-queue')).toMatchObject({ status: 'fail', fix: expect.stringContaining('npx elevenlabs-conversations redrive --stack Prod') });
  });

  it('reports a check AWS refuses as not checked (exit 1), and goes on with the others', async () => {
    // Prepare
    cloudWatch.on(DescribeAlarmsCommand).rejects(Object.assign(new Error('User is not authorized to perform: cloudwatch:DescribeAlarms'), { name: 'AccessDenied' }));

    // Act
    const report = await doctor(['--stack', 'Prod']);

    // Assess
    expect(check(report, 'alarms')).toMatchObject({ status: 'fail', message: expect.stringContaining('could not check the alarms: access denied') });
    expect(check(report, 'webhook-enabled')?.status).toBe('ok');
    expect(report.code).toBe(1);
  });

  it('turns retries on with --fix-retries (name and is_disabled sent, as the API requires) and confirms it', async () => {
    // Prepare
    fake.workspace.updateWebhook(webhook.webhook_id, { retry_enabled: false });

    // Act
    const report = await doctor(['--stack', 'Prod', '--fix-retries']);

    // Assess
    expect(report.changes).toEqual([expect.objectContaining({ action: 'enable-retries', done: true })]);
    expect(check(report, 'webhook-retries')?.status).toBe('ok');
    expect(fake.workspace.webhook(webhook.webhook_id)).toMatchObject({ retry_enabled: true, is_disabled: false });
  });

  it('uses --webhook-url over the stack’s output', async () => {
    // Act
    const report = await doctor(['--stack', 'Prod', '--webhook-url', 'https://hooks.example.com/elevenlabs']);

    // Assess
    expect(check(report, 'webhook-exists')).toMatchObject({ status: 'fail', message: expect.stringContaining('no webhook points at https://hooks.example.com/elevenlabs') });
  });
});
