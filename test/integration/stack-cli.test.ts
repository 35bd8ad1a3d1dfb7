/**
 * The command-line tools against "AWS": `--stack` resolution from CloudFormation outputs, flags and environment that
 * override them, backfill's checks before any ElevenLabs call, and redrive. CloudFormation, Secrets Manager and SQS
 * message move tasks have no emulator (fauxqs does not implement StartMessageMoveTask/ListMessageMoveTasks), so they
 * answer from aws-sdk-client-mock client doubles; DynamoDB and S3 are the emulators, reached as AWS would be.
 */
import { CloudFormationClient, DescribeStacksCommand, type DescribeStacksCommandOutput } from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ListMessageMoveTasksCommand, SQSClient, StartMessageMoveTaskCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runBackfill } from '../../bin/cli/backfill-command.js';
import { runConversations } from '../../bin/cli/conversations-command.js';
import type { CommandIo } from '../../bin/cli/io.js';
import { moveDeadLetters, runRedrive, type MoveTask } from '../../bin/cli/redrive-command.js';
import { FAKE_API_KEY, startFakeElevenLabsApi, type FakeElevenLabsApi } from '../../bin/local/fake-elevenlabs-api.js';
import { API_KEY_PLACEHOLDER, DEFAULT_STACK_NAME, STACK_OUTPUT } from '../../lambdas/core/contract.js';
import { createConversationsTable } from '../support/conversation-tables.js';
import { emulatorRegion, sdkEnvironmentFor, startDynamoDbEmulator, startSqsS3Emulator, type DynamoDbEmulator, type SqsS3Emulator } from '../support/emulators.js';

const cloudFormation = mockClient(CloudFormationClient);
const secretsManager = mockClient(SecretsManagerClient);
const ENVIRONMENT = { ...process.env };
const BUCKET = 'stack-cli-conversations';
const DLQ_ARN = 'arn:aws:sqs:us-east-1:123456789012:Prod-IngestQueueDeadLetterQueue-AbC';
const QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:Prod-IngestQueue-XyZ';
const NOW = Math.floor(Date.now() / 1000);

let dynamo: DynamoDbEmulator;
let sqsS3: SqsS3Emulator;
let fake: FakeElevenLabsApi;
let tableName: string;
let queueUrl: string;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(command: (argv: readonly string[], io: CommandIo) => Promise<number>, argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CommandIo = { stdout: { write: (chunk) => ((stdout += chunk.toString()), true) }, stderr: { write: (chunk) => ((stderr += chunk.toString()), true) }, env };
  const code = await command(argv, io);
  return { code, stdout, stderr };
}

/** What DescribeStacks answers for a deployed stack with these outputs. */
function stackWithOutputs(outputs: Record<string, string>): DescribeStacksCommandOutput {
  const Outputs = Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue }));
  return { $metadata: {}, Stacks: [{ StackName: 'Prod', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs }] };
}

const deployedOutputs = () => ({
  [STACK_OUTPUT.conversationsTableName]: tableName,
  [STACK_OUTPUT.conversationBucketName]: BUCKET,
  [STACK_OUTPUT.ingestQueueUrl]: queueUrl,
  [STACK_OUTPUT.apiKeySecretName]: 'Prod/ApiKeySecret',
  [STACK_OUTPUT.ingestQueueArn]: QUEUE_ARN,
  [STACK_OUTPUT.deadLetterQueueArn]: DLQ_ARN,
});

beforeAll(async () => {
  [dynamo, sqsS3, fake] = await Promise.all([startDynamoDbEmulator(), startSqsS3Emulator(), startFakeElevenLabsApi({ count: 20, seed: 7 })]);
  sqsS3.server.createBucket(BUCKET);
  tableName = await createConversationsTable(dynamo.client, 'prod-conversations');
  queueUrl = sqsS3.server.createQueue('prod-ingest').queueUrl ?? '';
  await DynamoDBDocumentClient.from(dynamo.client).send(
    new PutCommand({ TableName: tableName, Item: { conversation_id: 'conv_stack_1', agent_id: 'agent_stack', status: 'done', start_time_unix_secs: NOW - 60, start_day: new Date((NOW - 60) * 1000).toISOString().slice(0, 10), record_version: 1 } }),
  );
  // The AWS clients the commands build reach the emulators through the SDK's own endpoint variables.
  Object.assign(process.env, sdkEnvironmentFor({ dynamodb: dynamo.endpoint, s3: sqsS3.endpoint, sqs: sqsS3.endpoint }));
});

afterAll(async () => {
  process.env = { ...ENVIRONMENT };
  await Promise.all([dynamo?.stop(), sqsS3?.stop(), fake?.stop()]);
});

beforeEach(() => {
  cloudFormation.reset().on(DescribeStacksCommand).resolves(stackWithOutputs(deployedOutputs()));
  secretsManager.reset();
  fake.resetCounters();
});

describe('--stack: names from the stack outputs', () => {
  it('reads the table and bucket the outputs name', async () => {
    // Act
    const result = await run(runConversations, ['get', 'conv_stack_1', '--stack', 'Prod', '--json']);

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ conversation_id: 'conv_stack_1', agent_id: 'agent_stack' });
    expect(cloudFormation.commandCalls(DescribeStacksCommand).map((call) => call.args[0].input)).toEqual([{ StackName: 'Prod' }]);
  });

  it('looks up the default stack name when no --stack is given', async () => {
    // Act
    const result = await run(runConversations, ['list', '--json']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split('\n').map((line) => (JSON.parse(line) as { conversation_id: string }).conversation_id)).toEqual(['conv_stack_1']);
    expect(cloudFormation.commandCalls(DescribeStacksCommand)[0]?.args[0].input).toEqual({ StackName: DEFAULT_STACK_NAME });
  });

  it('passes --region and --profile to the CloudFormation client', async () => {
    // Act
    await run(runConversations, ['list', '--stack', 'Prod', '--region', 'eu-west-1', '--profile', 'ops']);
    const client = cloudFormation.commandCalls(DescribeStacksCommand)[0]?.thisValue as CloudFormationClient;

    // Assess
    expect(await client.config.region()).toBe('eu-west-1');
    expect(client.config).toMatchObject({ profile: 'ops' });
  });

  it('lets a flag, then an environment variable, win over the output, and says which to check', async () => {
    // Act
    const byFlag = await run(runConversations, ['list', '--stack', 'Prod', '--table', 'flag-table']);
    const byEnv = await run(runConversations, ['list', '--stack', 'Prod'], { CONVERSATIONS_TABLE_NAME: 'env-table' });

    // Assess
    expect(byFlag).toEqual({ code: 1, stdout: '', stderr: `error: table flag-table not found in region ${emulatorRegion} (check --table and --region)\n` });
    expect(byEnv).toEqual({ code: 1, stdout: '', stderr: `error: table env-table not found in region ${emulatorRegion} (check --table and --region)\n` });
  });

  it('does not ask CloudFormation when flags name everything', async () => {
    // Act
    const result = await run(runConversations, ['list', '--table', tableName, '--bucket', BUCKET, '--json']);

    // Assess
    expect(result.code).toBe(0);
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });

  it('points at --stack when an output names a table that is not there', async () => {
    // Prepare
    cloudFormation.on(DescribeStacksCommand).resolves(stackWithOutputs({ ...deployedOutputs(), [STACK_OUTPUT.conversationsTableName]: 'Prod-gone' }));

    // Act
    const result = await run(runConversations, ['list', '--stack', 'Prod']);

    // Assess
    expect(result.stderr).toBe(`error: table Prod-gone not found in region ${emulatorRegion} (check --stack and --region)\n`);
  });

  it('names a missing output and how to give it instead', async () => {
    // Prepare
    const { [STACK_OUTPUT.conversationBucketName]: _bucket, ...withoutBucket } = deployedOutputs();
    cloudFormation.on(DescribeStacksCommand).resolves(stackWithOutputs(withoutBucket));

    // Act
    const result = await run(runConversations, ['list', '--stack', 'Prod']);

    // Assess
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'error: stack Prod has no output ConversationBucketName (or --bucket, CONVERSATION_BUCKET_NAME): deploy this version of the stack (npx cdk deploy), or name the resource by flag (see elevenlabs-conversations list --help)\n',
    });
  });

  it('explains a stack that does not exist, a refused DescribeStacks, and --local with --stack', async () => {
    // Prepare
    cloudFormation.on(DescribeStacksCommand, { StackName: 'Nope' }).rejects(Object.assign(new Error('Stack with id Nope does not exist'), { name: 'ValidationError' }));
    const denied = 'User: arn:aws:iam::123456789012:user/dev is not authorized to perform: cloudformation:DescribeStacks on resource: Prod';
    cloudFormation.on(DescribeStacksCommand, { StackName: 'Locked' }).rejects(Object.assign(new Error(denied), { name: 'AccessDenied' }));

    // Act
    const missing = await run(runConversations, ['list', '--stack', 'Nope', '--region', 'eu-west-1']);
    const refused = await run(runConversations, ['list', '--stack', 'Locked']);
    const both = await run(runConversations, ['list', '--stack', 'Prod', '--local']);

    // Assess
    expect(missing.stderr).toBe('error: stack Nope not found in region eu-west-1: pass --stack with the name you deployed (and --region), or --local (see elevenlabs-conversations list --help)\n');
    expect(refused.stderr).toBe(`error: reading the outputs of stack Locked: access denied in region ${emulatorRegion}: ${denied}\n`);
    expect(both.stderr).toBe('error: --local reads the running local pipeline; --stack, --table, --bucket, --region and --profile are for AWS (see elevenlabs-conversations list --help)\n');
    expect([missing.code, refused.code, both.code]).toEqual([1, 1, 1]);
  });

  it('hints at -- when npm run took the flags', async () => {
    // Prepare: `npm run conversations list --json` hands npm the --json
    cloudFormation.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id ElevenLabsConversations does not exist'), { name: 'ValidationError' }));

    // Act
    const swallowed = await run(runConversations, ['list'], { npm_lifecycle_event: 'conversations', npm_config_json: 'true' });
    const local = await run(runConversations, ['list'], { npm_lifecycle_event: 'conversations' });

    // Assess
    expect(swallowed.stderr).toBe(
      "error: npm took --json for itself: put the command's flags after -- (`npm run conversations -- …`), or use `npx elevenlabs-conversations …` (see elevenlabs-conversations list --help)\n",
    );
    expect(local.stderr).toContain('(with npm run, flags go after --: `npm run conversations -- …`, or use `npx elevenlabs-conversations …`)');
  });
});

describe('backfill against AWS', () => {
  const backfillEnv = () => ({ ELEVENLABS_API_BASE_URL: fake.url });

  it('resolves everything from the stack and reads the API key from its secret', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand, { SecretId: 'Prod/ApiKeySecret' }).resolves({ SecretString: FAKE_API_KEY });

    // Act
    const result = await run(runBackfill, ['--since', String(NOW - 86_400 * 30), '--stack', 'Prod', '--dry-run', '--json'], backfillEnv());

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ target: 'aws', dry_run: true, listed: 20 });
    expect(fake.calls.list).toBeGreaterThan(0);
  });

  it('says the API key is not set yet, before any ElevenLabs call, when the secret holds the stack placeholder', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: API_KEY_PLACEHOLDER });

    // Act
    const result = await run(runBackfill, ['--since', '2026-01-01', '--stack', 'Prod'], backfillEnv());

    // Assess
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: "error: the secret Prod/ApiKeySecret holds no ElevenLabs API key yet: aws secretsmanager put-secret-value --secret-id Prod/ApiKeySecret --secret-string 'sk_…' (or set ELEVENLABS_API_KEY)\n",
    });
    expect(fake.calls).toMatchObject({ list: 0, get: 0 });
  });

  it('names a secret that is not there, and a table the outputs name wrongly, before any ElevenLabs call', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand).rejects(Object.assign(new Error("Secrets Manager can't find the specified secret."), { name: 'ResourceNotFoundException' }));

    // Act
    const noSecret = await run(runBackfill, ['--since', '2026-01-01', '--stack', 'Prod'], backfillEnv());
    cloudFormation.on(DescribeStacksCommand).resolves(stackWithOutputs({ ...deployedOutputs(), [STACK_OUTPUT.conversationsTableName]: 'Prod-gone' }));
    const noTable = await run(runBackfill, ['--since', '2026-01-01', '--stack', 'Prod'], { ...backfillEnv(), ELEVENLABS_API_KEY: FAKE_API_KEY });

    // Assess
    expect(noSecret.stderr).toBe(`error: secret Prod/ApiKeySecret not found in region ${emulatorRegion} (check --stack and --region)\n`);
    expect(noTable.stderr).toBe(`error: table Prod-gone not found in region ${emulatorRegion} (check --stack and --region)\n`);
    expect(fake.calls).toMatchObject({ list: 0, get: 0 });
  });
});

describe('redrive', () => {
  const sqs = mockClient(SQSClient);
  afterEach(() => sqs.reset());
  afterAll(() => sqs.restore());

  const completed: MoveTask = { Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 3, ApproximateNumberOfMessagesToMove: 3 };

  it('moves the dead letters of the stack’s DLQ to its ingest queue and reports the result', async () => {
    // Prepare
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'handle-1' });
    sqs.on(ListMessageMoveTasksCommand).resolvesOnce({ Results: [] }).resolves({ Results: [completed] });

    // Act
    const text = await run(runRedrive, ['--stack', 'Prod']);
    const json = await run(runRedrive, ['--stack', 'Prod', '--json', '--max-per-second', '50']);

    // Assess
    expect(text).toEqual({ code: 0, stdout: 'moved 3 of 3 message(s) from Prod-IngestQueueDeadLetterQueue-AbC to Prod-IngestQueue-XyZ\n', stderr: '' });
    expect(JSON.parse(json.stdout)).toEqual({ status: 'COMPLETED', moved: 3, to_move: 3, source_arn: DLQ_ARN, destination_arn: QUEUE_ARN });
    expect(sqs.commandCalls(StartMessageMoveTaskCommand).map((call) => call.args[0].input)).toEqual([
      { SourceArn: DLQ_ARN, DestinationArn: QUEUE_ARN },
      { SourceArn: DLQ_ARN, DestinationArn: QUEUE_ARN, MaxNumberOfMessagesPerSecond: 50 },
    ]);
  });

  it('follows a redrive that is already running instead of starting another', async () => {
    // Prepare
    sqs.on(ListMessageMoveTasksCommand).resolvesOnce({ Results: [{ Status: 'RUNNING', TaskHandle: 'handle-0', ApproximateNumberOfMessagesMoved: 1, ApproximateNumberOfMessagesToMove: 3 }] }).resolves({ Results: [completed] });

    // Act
    const result = await run(runRedrive, ['--dlq-arn', DLQ_ARN, '--queue-arn', QUEUE_ARN]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('a redrive of Prod-IngestQueueDeadLetterQueue-AbC was already running; followed it\n');
    expect(sqs.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });

  it('exits 1 with the failure reason when the task fails, and returns at once with --no-wait', async () => {
    // Prepare
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'handle-2' });
    sqs.on(ListMessageMoveTasksCommand).resolvesOnce({ Results: [] }).resolvesOnce({ Results: [{ Status: 'FAILED', ApproximateNumberOfMessagesMoved: 1, ApproximateNumberOfMessagesToMove: 3, FailureReason: 'AWS.SimpleQueueService.KmsAccessDenied' }] }).resolves({ Results: [] });

    // Act
    const failed = await run(runRedrive, ['--stack', 'Prod']);
    const started = await run(runRedrive, ['--stack', 'Prod', '--no-wait', '--json']);

    // Assess
    expect(failed).toEqual({ code: 1, stdout: '', stderr: 'error: failed after moving 1 of 3 message(s) from Prod-IngestQueueDeadLetterQueue-AbC to Prod-IngestQueue-XyZ: AWS.SimpleQueueService.KmsAccessDenied\n' });
    expect(started.code).toBe(0);
    expect(JSON.parse(started.stdout)).toMatchObject({ status: 'RUNNING', task_handle: 'handle-2', moved: 0 });
  });

  it('names the queue when SQS cannot find it, and refuses a bad rate', async () => {
    // Prepare
    sqs.on(ListMessageMoveTasksCommand).rejects(Object.assign(new Error('The specified queue does not exist.'), { name: 'QueueDoesNotExist' }));

    // Act
    const missing = await run(runRedrive, ['--stack', 'Prod']);
    const badRate = await run(runRedrive, ['--max-per-second', '0']);

    // Assess
    expect(missing.stderr).toBe(`error: queue ${DLQ_ARN} not found in region ${emulatorRegion} (check --stack and --region)\n`);
    expect(badRate.stderr).toBe('error: --max-per-second must be a whole number from 1 to 500 (got "0") (see elevenlabs-conversations redrive --help)\n');
  });

  it('polls a running task until it ends, reporting each step', async () => {
    // Prepare
    const states: MoveTask[] = [
      { Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 0, ApproximateNumberOfMessagesToMove: 4 },
      { Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 2, ApproximateNumberOfMessagesToMove: 4 },
      { Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 4, ApproximateNumberOfMessagesToMove: 4 },
    ];
    let listCalls = 0;
    const sleeps: number[] = [];
    const ports = {
      send: async (command: StartMessageMoveTaskCommand | ListMessageMoveTasksCommand) => {
        if (command instanceof StartMessageMoveTaskCommand) return { TaskHandle: 'h' };
        listCalls++;
        return { Results: listCalls === 1 ? [] : [states[Math.min(listCalls - 2, states.length - 1)]] };
      },
      sleep: async (ms: number) => void sleeps.push(ms),
    };
    const seen: number[] = [];

    // Act
    const { task, joined } = await moveDeadLetters(ports, { sourceArn: DLQ_ARN, destinationArn: QUEUE_ARN, wait: true }, (current) => seen.push(current.ApproximateNumberOfMessagesMoved ?? -1));

    // Assess
    expect(task.Status).toBe('COMPLETED');
    expect(joined).toBe(false);
    expect(seen).toEqual([0, 2, 4]);
    expect(sleeps).toEqual([2000, 2000]);
  });
});
