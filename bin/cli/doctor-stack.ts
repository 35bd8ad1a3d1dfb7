/**
 * `doctor`'s checks of our side: the secrets hold real values (not the placeholder the stack creates), the poller has
 * run recently, the dead-letter queue is empty, and (in AWS) no alarm of the stack is in ALARM. In AWS every name comes
 * from the stack's outputs (flags and variables win, as for the other commands); `--local` reads the running
 * `npm start`. Also where the ElevenLabs side starts from: the webhook URL and the API key.
 *
 * Secrets Manager and CloudWatch have no emulator (tests answer them with client doubles); DynamoDB and SQS are
 * reached as AWS would be (the emulators locally and in tests).
 */
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { apiKeyFromSecret } from '../../lambdas/core/backfill/api-key.js';
import { loadWatermark } from '../../lambdas/core/backfill/poller-watermark.js';
import { parseWebhookSecretValue } from '../../lambdas/core/ingest/webhook-secrets.js';
import { createConversationReader, type ConversationReader } from '../../lambdas/core/record/conversation-reader.js';
import { isUnsetSecretValue } from '../../lambdas/core/secret-values.js';
import { localDataDir, readLocalEndpoints, type LocalEndpoints } from '../local/endpoints.js';
import { emulatorCredentials } from '../local/emulators.js';
import { readWebhookSecret } from '../local/webhook-secret.js';
import { explainAwsError } from './aws-errors.js';
import { read, type Check, type CheckStatus, type Read } from './doctor-checks.js';
import { awsClientConfig, resolveStackResources, type ResourceName, type StackOutputsReader, type StackSelection } from './stack-resources.js';

/** How far back doctor looks for poller runs in AWS: three of the default 10-minute intervals. */
export const POLLER_RUN_WINDOW_SECS = 1800;
/** How far back the table is read for the agents that sent conversations, and at most how many records. */
const STORED_AGENTS_LOOKBACK_SECS = 7 * 86_400;
const STORED_AGENTS_MAX_RECORDS = 2000;

/** Where our side is, and what it says. */
export interface StackSide {
  readonly kind: 'local' | 'aws';
  /** The URL ElevenLabs should post to. */
  readonly webhookUrl: string;
  /** The API key for the ElevenLabs checks: ELEVENLABS_API_KEY, else (in AWS) the stack's secret. */
  readonly apiKey: Read<string>;
  /** "stack Prod" or "the local pipeline". */
  readonly describe: string;
  checks(nowSecs: number): Promise<Check[]>;
  /** Agents with conversations in the table over the last 7 days. */
  storedAgentIds(nowSecs: number): Promise<ReadonlySet<string>>;
  close(): void;
}

export interface DoctorTargetFlags extends StackSelection {
  readonly webhookUrl?: string;
  readonly tableName?: string;
  readonly bucketName?: string;
  readonly webhookSecretName?: string;
  readonly apiKeySecretName?: string;
  readonly deadLetterQueueUrl?: string;
  readonly pollerFunctionName?: string;
  readonly alarmTopicArn?: string;
}

const check = (id: string, status: CheckStatus, message: string, fix = ''): Check => ({ id, status, message, fix });

/** A check whose AWS (or local) call failed: not a finding, it could not be made. */
function unchecked(id: string, what: string, error: unknown, where: string): Check {
  const explained = explainAwsError(error, { where }) ?? (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  return { ...check(id, 'fail', `could not check ${what}: ${explained}`, 'check the AWS credentials, --region and --stack (or that npm start runs, with --local), then run doctor again'), unchecked: true };
}

async function agentIdsIn(reader: ConversationReader, nowSecs: number): Promise<ReadonlySet<string>> {
  const ids = new Set<string>();
  for await (const record of reader.listConversations({ since: nowSecs - STORED_AGENTS_LOOKBACK_SECS, until: nowSecs, attributes: ['agent_id'], limit: STORED_AGENTS_MAX_RECORDS })) {
    if (typeof record.agent_id === 'string') ids.add(record.agent_id);
  }
  return ids;
}

async function deadLetterCheck(sqs: SQSClient, queueUrl: string, redrive: string, where: string): Promise<Check> {
  try {
    const { Attributes: attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    const count = Number(attributes.ApproximateNumberOfMessages ?? 0) + Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
    if (count === 0) return check('dead-letter-queue', 'ok', 'the dead-letter queue is empty');
    return check('dead-letter-queue', 'fail', `${count} event(s) in the dead-letter queue: failed 5 times, not stored yet`, `find why (consumer logs, RecordFailed), fix it, then ${redrive}`);
  } catch (error) {
    return unchecked('dead-letter-queue', 'the dead-letter queue', error, where);
  }
}

/** The local pipeline `npm start` runs with the same PORT and LOCAL_DATA_DIR. Throws when none runs. */
export async function localStackSide(flags: Pick<DoctorTargetFlags, 'webhookUrl'>, env: NodeJS.ProcessEnv): Promise<StackSide> {
  const dataDir = localDataDir(env);
  const endpoints = await readLocalEndpoints(dataDir);
  const common = { region: endpoints.region, credentials: emulatorCredentials };
  const dynamodb = new DynamoDBClient({ ...common, endpoint: endpoints.dynamodbEndpoint });
  const s3 = new S3Client({ ...common, endpoint: endpoints.sqsS3Endpoint, forcePathStyle: true });
  const sqs = new SQSClient({ ...common, endpoint: endpoints.sqsS3Endpoint });
  const documentClient = DynamoDBDocumentClient.from(dynamodb);
  const reader = createConversationReader({ documentClient, s3, tableName: endpoints.tableName, bucketName: endpoints.bucketName });
  const envKey = env.ELEVENLABS_API_KEY?.trim() ?? '';
  const where = 'the local pipeline';
  return {
    kind: 'local',
    webhookUrl: flags.webhookUrl ?? (env.WEBHOOK_URL?.trim() || endpoints.webhookUrl),
    apiKey: envKey === '' ? { ok: false, error: new Error('ELEVENLABS_API_KEY is not set') } : { ok: true, value: envKey },
    describe: where,
    async checks(nowSecs) {
      const webhookSecret = await readWebhookSecret(dataDir, env);
      return [
        webhookSecret === undefined
          ? check('webhook-secret', 'fail', 'the local pipeline has no webhook secret', 'restart npm start (it generates one), or set ELEVENLABS_WEBHOOK_SECRET to the one ElevenLabs shows')
          : check('webhook-secret', 'ok', env.ELEVENLABS_WEBHOOK_SECRET?.trim() ? 'the webhook secret comes from ELEVENLABS_WEBHOOK_SECRET' : `the webhook secret is the one npm start keeps in ${dataDir}`),
        envKey === ''
          ? check('api-key-secret', 'fail', 'ELEVENLABS_API_KEY is not set: the local poller is off and the ElevenLabs side cannot be checked', 'export ELEVENLABS_API_KEY=sk_… (and ELEVENLABS_API_BASE_URL for a residency host or a fake), here and for npm start')
          : check('api-key-secret', 'ok', 'ELEVENLABS_API_KEY is set'),
        await localPollerCheck(endpoints, documentClient, nowSecs),
        await deadLetterCheck(sqs, endpoints.deadLetterQueueUrl, 'move them back to the queue ingest by hand (aws sqs receive-message / send-message with --endpoint-url: redrive needs AWS\'s message move task)', where),
      ];
    },
    storedAgentIds: (nowSecs) => agentIdsIn(reader, nowSecs),
    close: () => [dynamodb, s3, sqs].forEach((client) => client.destroy()),
  };
}

async function localPollerCheck(endpoints: LocalEndpoints, documentClient: DynamoDBDocumentClient, nowSecs: number): Promise<Check> {
  if (endpoints.poller === undefined) return check('poller', 'fail', 'the local poller is off (npm start ran without ELEVENLABS_API_KEY)', 'restart npm start with ELEVENLABS_API_KEY set (or npm start -- --fake-elevenlabs)');
  const watermark = await loadWatermark(documentClient, endpoints.stateTableName).catch(() => undefined);
  const saved = watermark === undefined ? 'no watermark saved yet' : `watermark saved ${Math.max(0, nowSecs - Math.floor(Date.parse(watermark.updatedAt) / 1000))} s ago`;
  return check('poller', 'ok', `the local poller runs every ${endpoints.poller.intervalSecs} s in npm start (pid ${endpoints.pid}); ${saved}`);
}

const AWS_RESOURCES = ['webhookUrl', 'tableName', 'bucketName', 'webhookSecretName', 'apiKeySecretName', 'deadLetterQueueUrl', 'pollerFunctionName', 'alarmTopicArn'] as const satisfies readonly ResourceName[];

/** A deployed stack, every name resolved from flags, variables or its outputs. Throws CommandUsageError when names are missing. */
export async function awsStackSide(flags: DoctorTargetFlags, env: NodeJS.ProcessEnv, readOutputs?: StackOutputsReader): Promise<StackSide> {
  const { names, stackName } = await resolveStackResources(AWS_RESOURCES, flags, flags, env, readOutputs);
  const config = awsClientConfig(flags);
  const clients = { secrets: new SecretsManagerClient(config), cloudwatch: new CloudWatchClient(config), sqs: new SQSClient(config), dynamodb: new DynamoDBClient(config), s3: new S3Client(config) };
  const where = `region ${await clients.sqs.config.region().catch(() => '(none set)')}`;
  const secretValue = (secretId: string) => read(async () => (await clients.secrets.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString);
  const [webhookSecret, apiKeySecret] = await Promise.all([secretValue(names.webhookSecretName), secretValue(names.apiKeySecretName)]);
  const envKey = env.ELEVENLABS_API_KEY?.trim() || undefined;
  const stackFlag = `--stack ${stackName ?? flags.stackName ?? ''}`.trim();
  const reader = createConversationReader({ documentClient: DynamoDBDocumentClient.from(clients.dynamodb), s3: clients.s3, tableName: names.tableName, bucketName: names.bucketName });
  return {
    kind: 'aws',
    webhookUrl: names.webhookUrl,
    apiKey: envKey !== undefined ? { ok: true, value: envKey } : apiKeySecret.ok ? await read(async () => apiKeyFromSecret(apiKeySecret.value, names.apiKeySecretName)) : { ok: false, error: apiKeySecret.error },
    describe: stackName === undefined ? where : `stack ${stackName} in ${where}`,
    async checks(nowSecs) {
      return [
        webhookSecretCheck(webhookSecret, names.webhookSecretName, where),
        apiKeySecretCheck(apiKeySecret, names.apiKeySecretName, envKey !== undefined, where),
        await awsPollerCheck(clients.cloudwatch, names.pollerFunctionName, nowSecs, where),
        await deadLetterCheck(clients.sqs, names.deadLetterQueueUrl, `\`npx elevenlabs-conversations redrive ${stackFlag}\``, where),
        await alarmsCheck(clients.cloudwatch, names.alarmTopicArn, where),
      ];
    },
    storedAgentIds: (nowSecs) => agentIdsIn(reader, nowSecs),
    close: () => Object.values(clients).forEach((client) => client.destroy()),
  };
}

const putSecret = (secretId: string, example: string) => `aws secretsmanager put-secret-value --secret-id ${secretId} --secret-string '${example}'`;

function webhookSecretCheck(value: Read<string | undefined>, secretId: string, where: string): Check {
  if (!value.ok) return unchecked('webhook-secret', `the webhook secret ${secretId}`, value.error, where);
  const fix = `${putSecret(secretId, 'wsec_…')} (the secret ElevenLabs shows for the webhook)`;
  if (value.value === undefined || isUnsetSecretValue(value.value)) return check('webhook-secret', 'fail', `the webhook secret ${secretId} still holds the stack's placeholder: every delivery is refused as invalid_signature`, fix);
  try {
    const secrets = parseWebhookSecretValue(value.value);
    if (secrets.some(isUnsetSecretValue)) return check('webhook-secret', 'fail', `the webhook secret ${secretId} lists the stack's placeholder among its secrets`, fix);
    return check('webhook-secret', 'ok', `the webhook secret ${secretId} holds ${secrets.length === 1 ? 'a secret' : `${secrets.length} secrets (rotation)`}`);
  } catch (error) {
    return check('webhook-secret', 'fail', `the webhook secret ${secretId} is not usable: ${error instanceof Error ? error.message : String(error)}`, fix);
  }
}

function apiKeySecretCheck(value: Read<string | undefined>, secretId: string, envKeyUsed: boolean, where: string): Check {
  if (!value.ok) return unchecked('api-key-secret', `the API-key secret ${secretId}`, value.error, where);
  const shell = envKeyUsed ? ' (the ElevenLabs checks use ELEVENLABS_API_KEY from this shell)' : '';
  if (value.value === undefined || isUnsetSecretValue(value.value)) {
    return check('api-key-secret', 'fail', `the API-key secret ${secretId} still holds the stack's placeholder: the poller skips every run (PollerApiKeyNotSet)${shell}`, putSecret(secretId, 'sk_…'));
  }
  return check('api-key-secret', 'ok', `the API-key secret ${secretId} holds a key${shell}`);
}

async function awsPollerCheck(cloudwatch: CloudWatchClient, functionName: string, nowSecs: number, where: string): Promise<Check> {
  try {
    const sum = async (metricName: string) => {
      const { Datapoints: points = [] } = await cloudwatch.send(
        new GetMetricStatisticsCommand({
          Namespace: 'AWS/Lambda',
          MetricName: metricName,
          Dimensions: [{ Name: 'FunctionName', Value: functionName }],
          StartTime: new Date((nowSecs - POLLER_RUN_WINDOW_SECS) * 1000),
          EndTime: new Date(nowSecs * 1000),
          Period: POLLER_RUN_WINDOW_SECS,
          Statistics: ['Sum'],
        }),
      );
      return points.reduce((total, point) => total + (point.Sum ?? 0), 0);
    };
    const [invocations, errors] = [await sum('Invocations'), await sum('Errors')];
    const window = `the last ${POLLER_RUN_WINDOW_SECS / 60} minutes`;
    if (invocations === 0) {
      return check('poller', 'warn', `the poller ${functionName} was not invoked in ${window}`, 'check its EventBridge Scheduler schedule is enabled (pollerEnabled, pollSchedule); with a schedule longer than 10 minutes this is expected');
    }
    if (errors > 0) return check('poller', 'warn', `${errors} of ${invocations} poller run(s) in ${window} failed`, `read the poller's "poll failed" log lines (CloudWatch Logs, /aws/lambda/${functionName})`);
    return check('poller', 'ok', `the poller ran ${invocations} time(s) in ${window}, without failing`);
  } catch (error) {
    return unchecked('poller', 'the poller runs', error, where);
  }
}

async function alarmsCheck(cloudwatch: CloudWatchClient, topicArn: string, where: string): Promise<Check> {
  try {
    const firing: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await cloudwatch.send(new DescribeAlarmsCommand({ ActionPrefix: topicArn, StateValue: 'ALARM', AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], NextToken: nextToken }));
      firing.push(...[...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])].flatMap((alarm) => (alarm.AlarmName === undefined ? [] : [alarm.AlarmName])));
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    if (firing.length === 0) return check('alarms', 'ok', 'no alarm of the stack is in ALARM');
    return check('alarms', 'fail', `in ALARM: ${firing.join(', ')}`, "each alarm's description says what it means; README's Operations runbook says what to do");
  } catch (error) {
    return unchecked('alarms', 'the alarms', error, where);
  }
}
